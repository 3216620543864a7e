// The console's browser tests: a real Chromium (scripts/lib/chromium.ts), and a record of everything a page
// complains about (console errors, CSP and Trusted Types refusals, uncaught exceptions, failed loads).
import type { Page } from "playwright-core";

export { launchChromium } from "../../scripts/lib/chromium";

export interface Complaint {
  url: string;
  text: string;
}

/** Collects what `page` complains about, from now on. */
export function complaints(page: Page): Complaint[] {
  const found: Complaint[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") found.push({ url: page.url(), text: m.text() });
  });
  page.on("pageerror", (e) => found.push({ url: page.url(), text: `uncaught: ${e.message}` }));
  page.on("requestfailed", (r) =>
    found.push({ url: page.url(), text: `failed: ${r.url()} ${r.failure()?.errorText}` }),
  );
  return found;
}
