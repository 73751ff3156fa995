/** JUnit XML for CI servers (Jenkins' junit step) from a list of named results. */

/** One test: its name, duration and, when it failed, why. */
export interface TestResult {
  name: string;
  seconds: number;
  error?: string;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** One <testsuite> holding every result. */
export function junitXml(suite: string, results: TestResult[]): string {
  const failures = results.filter((r) => r.error).length;
  const time = results.reduce((t, r) => t + r.seconds, 0).toFixed(3);
  const cases = results.map((r) => {
    const open = `  <testcase classname="${esc(suite)}" name="${esc(r.name)}" time="${
      r.seconds.toFixed(3)
    }"`;
    return r.error
      ? `${open}>\n    <failure message="${esc(r.error.slice(0, 500))}">${
        esc(r.error)
      }</failure>\n  </testcase>`
      : `${open}/>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="${
    esc(suite)
  }" tests="${results.length}" failures="${failures}" time="${time}">\n${
    cases.join("\n")
  }\n</testsuite>\n`;
}
