// @ts-check
/// <reference lib="dom" />
/**
 * Operator transitions: the admin token (this tab's session storage only) and the five buttons
 * that POST the target state, shown disabled, with the reason and the remedy, when the service
 * has no admin token.
 * @module
 */
import { $, all, setText } from "./dom.js";
import { clock } from "./format.js";

/** @typedef {import("./types.js").BreakerSnapshot} BreakerSnapshot */

const TOKEN_KEY = "payment-ingest.operator.adminToken";

/** Shows a status message with the time it was said. */
export function say(/** @type {"ok" | "error" | "info"} */ kind, /** @type {string} */ text) {
  $("message").dataset.kind = kind;
  setText("message-time", clock(Date.now()));
  setText("message-text", text);
}

/** `403 Forbidden: detail` from a problem+json body (or the status line). */
function problemText(/** @type {Response} */ res, /** @type {any} */ p) {
  const title = p && typeof p.title === "string" ? p.title : res.statusText || "Error";
  const detail = p && typeof p.detail === "string" ? p.detail : "";
  return res.status + " " + title + (detail ? ": " + detail : "");
}

/** Keeps the token input and session storage in step; storage may be blocked. */
function wireToken(/** @type {HTMLInputElement} */ tokenInput) {
  try {
    tokenInput.value = sessionStorage.getItem(TOKEN_KEY) || "";
  } catch { /* storage blocked */ }
  tokenInput.addEventListener("input", () => {
    tokenInput.removeAttribute("aria-invalid");
    try {
      if (tokenInput.value) sessionStorage.setItem(TOKEN_KEY, tokenInput.value);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch { /* storage blocked: the token lives in the input only */ }
  });
  $("forget-token").addEventListener("click", () => {
    tokenInput.value = "";
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch { /* ignore */ }
    say("info", "Admin token forgotten for this tab.");
  });
  $("token-form").addEventListener("submit", (ev) => ev.preventDefault());
}

/**
 * Says what an answer to the state POST means.
 * @param {string} name
 * @param {string} target
 * @param {Response} res
 * @param {any} data the parsed body, null when it was not JSON
 * @param {HTMLInputElement} tokenInput
 * @param {(s: BreakerSnapshot) => void} render
 */
function report(name, target, res, data, tokenInput, render) {
  if (res.ok) {
    tokenInput.removeAttribute("aria-invalid");
    render(data);
    say("ok", name + " is now " + (data && data.state ? data.state : target) + ".");
  } else if (res.status === 409) {
    const allowed = data && Array.isArray(data.allowed) ? data.allowed.map(String) : [];
    say(
      "error",
      problemText(res, data) + " Allowed targets" +
        (data && data.from ? " from " + String(data.from) : "") + ": " +
        (allowed.length ? allowed.join(", ") : "none") + ".",
    );
  } else if (res.status === 401 || res.status === 403) {
    tokenInput.setAttribute("aria-invalid", "true");
    say("error", problemText(res, data) + " The state was not changed.");
  } else {
    say("error", problemText(res, data));
  }
}

/**
 * Wires the token form and the transition buttons; `setAdmin` shows whether the service accepts
 * transitions at all.
 * @param {{ name: string, base: string, render: (s: BreakerSnapshot) => void }} opts
 */
export function setupActions({ name, base, render }) {
  const tokenInput = /** @type {HTMLInputElement} */ ($("token"));
  const buttons = /** @type {HTMLButtonElement[]} */ (all("[data-target]"));
  wireToken(tokenInput);
  let enabled = true;

  /** Enables the buttons and the token, or disables them with the reason and the remedy. */
  function setAdmin(/** @type {{ enabled: boolean, howToEnable?: string }} */ admin) {
    enabled = admin.enabled;
    const why = enabled ? "" : "Operator actions are disabled on this instance (no admin token): " +
      (admin.howToEnable ?? "set the admin token and restart to enable them") + ".";
    $("actions").dataset.admin = enabled ? "on" : "off";
    const note = $("admin-off");
    note.hidden = enabled;
    note.textContent = why;
    tokenInput.disabled = !enabled;
    for (const b of buttons) {
      b.disabled = !enabled;
      if (enabled) {
        b.removeAttribute("title");
        b.removeAttribute("aria-describedby");
      } else {
        b.title = why;
        b.setAttribute("aria-describedby", "admin-off");
      }
    }
  }

  async function setState(/** @type {string} */ target) {
    const token = tokenInput.value.trim();
    if (!token) {
      say("error", "Enter the admin token first.");
      tokenInput.setAttribute("aria-invalid", "true");
      tokenInput.focus();
      return;
    }
    for (const b of buttons) b.disabled = true;
    say("info", "Setting " + name + " to " + target + "…");
    try {
      const res = await fetch(base + "/state", {
        method: "POST",
        cache: "no-store",
        headers: {
          "content-type": "application/json",
          accept: "application/json, application/problem+json",
          authorization: "Bearer " + token,
        },
        body: JSON.stringify({ state: target, reason: "operator page" }),
      });
      const text = await res.text();
      let data = null;
      try {
        data = text ? JSON.parse(text) : null;
      } catch { /* not JSON: the status line says enough */ }
      report(name, target, res, data, tokenInput, render);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      say("error", "Request failed, the state may not have changed: " + why);
    } finally {
      for (const b of buttons) b.disabled = !enabled;
    }
  }

  for (const b of buttons) {
    b.addEventListener("click", () => setState(b.dataset.target ?? ""));
  }
  return { setAdmin };
}
