/**
 * Layout checks of the operator page at one viewport width, run inside the page: what a person
 * would see as broken on a phone or a desktop, not only whether elements exist.
 */
import type { Page } from "playwright-core";

/** The little of the DOM the in-page probe uses (Deno's types have no DOM). */
interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
  width: number;
  height: number;
}
interface El {
  id: string;
  className: string;
  textContent: string | null;
  scrollWidth: number;
  clientWidth: number;
  hidden: boolean;
  dataset: Record<string, string | undefined>;
  getBoundingClientRect(): Box;
  closest(selector: string): El | null;
  querySelector(selector: string): El | null;
}
type ProbeGlobal = {
  innerWidth: number;
  document: {
    documentElement: { scrollWidth: number };
    querySelectorAll(selector: string): Iterable<El>;
  };
  getComputedStyle(el: El): {
    display: string;
    visibility: string;
    lineHeight: string;
    fontSize: string;
    paddingTop: string;
    paddingBottom: string;
    borderTopWidth: string;
    borderBottomWidth: string;
  };
};

/** Room a time label needs in CSS px (`HH:MM:SS` at 12 px is about 52 px). */
export const MIN_TIME_LABEL_GAP = 56;

/** Texts that must show whole: never cut by their box or running past their card. */
const TEXTS = [
  ".tile-name",
  ".tile-hint",
  ".card-head h2",
  ".card-head .meta",
  ".rate-head span",
  ".rate-foot",
  ".stats dt",
  ".stats dd",
  ".btn",
  ".chart figcaption span",
  ".admin-off",
  "#state-meta",
].join(", ");

/** Labels that must stay on one line: a name broken over two lines reads as two things. */
const ONE_LINE = [
  ".rate-head > span:first-child",
  ".card-head h2",
  ".chart figcaption > span:first-child",
  ".btn",
  "#state-badge",
].join(", ");

/**
 * Every layout problem of the page as it is now, in words; empty when none. The probe is a
 * function, not a string: the page's CSP forbids eval.
 */
export async function layoutProblems(page: Page): Promise<string[]> {
  return await page.evaluate(({ texts, oneLine, minGap }) => {
    const g = globalThis as unknown as ProbeGlobal;
    const width = g.innerWidth;
    const problems: string[] = [];
    const name = (el: El) =>
      el.id ? `#${el.id}` : `.${el.className.split(" ")[0]} "${(el.textContent ?? "").trim()}"`;
    const shown = (el: El) => {
      const style = g.getComputedStyle(el);
      return style.display !== "none" && style.visibility !== "hidden" &&
        el.getBoundingClientRect().width > 0;
    };
    const overlap = (a: Box, b: Box) =>
      Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 &&
      Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;

    const scroll = g.document.documentElement.scrollWidth;
    if (scroll > width) problems.push(`the page is ${scroll} px wide on a ${width} px screen`);

    for (const group of [".tile", ".grid > .card", ".chart", ".actions .btn", ".stats > div"]) {
      const els = [...g.document.querySelectorAll(group)].filter(shown);
      els.forEach((a, i) => {
        const box = a.getBoundingClientRect();
        if (box.left < 0 || box.right > width) problems.push(`${name(a)} leaves the screen`);
        for (const b of els.slice(i + 1)) {
          if (overlap(box, b.getBoundingClientRect())) {
            problems.push(`${name(a)} overlaps ${name(b)}`);
          }
        }
      });
    }

    for (const el of [...g.document.querySelectorAll(texts)].filter(shown)) {
      // An inline box has no client width; its card is the test.
      if (g.getComputedStyle(el).display !== "inline" && el.scrollWidth > el.clientWidth + 1) {
        problems.push(`${name(el)} is cut: ${el.scrollWidth} px of text in ${el.clientWidth} px`);
      }
      const card = el.closest(".card")?.getBoundingClientRect();
      const box = el.getBoundingClientRect();
      if (card && (box.right > card.right + 0.5 || box.left < card.left - 0.5)) {
        problems.push(`${name(el)} runs out of its card`);
      }
    }

    for (const el of [...g.document.querySelectorAll(oneLine)].filter(shown)) {
      const style = g.getComputedStyle(el);
      const line = parseFloat(style.lineHeight) || 1.3 * parseFloat(style.fontSize);
      const frame = [style.paddingTop, style.paddingBottom, style.borderTopWidth]
        .concat(style.borderBottomWidth).reduce((sum, v) => sum + (parseFloat(v) || 0), 0);
      const text = el.getBoundingClientRect().height - frame;
      if (text > 1.5 * line) {
        problems.push(`${name(el)} wraps onto ${Math.round(text / line)} lines`);
      }
    }

    for (const figure of g.document.querySelectorAll(".chart")) {
      const canvas = figure.querySelector("canvas")?.getBoundingClientRect();
      const box = figure.getBoundingClientRect();
      if (!canvas || canvas.width < 100) problems.push(`#${figure.id} has no plot`);
      else if (canvas.right > box.right + 0.5 || canvas.right > width) {
        problems.push(`#${figure.id} is wider than its place (${canvas.right} > ${box.right})`);
      }
      const labels = (figure.dataset.timeLabels ?? "").split(" ").filter(Boolean);
      if (labels.length < 3) {
        problems.push(`#${figure.id} shows ${labels.length} time labels: ${labels.join(" ")}`);
      }
      const gap = Number(figure.dataset.timeGap);
      if (!(gap >= minGap)) problems.push(`#${figure.id} time labels ${gap} px apart`);
    }
    return problems;
  }, { texts: TEXTS, oneLine: ONE_LINE, minGap: MIN_TIME_LABEL_GAP });
}
