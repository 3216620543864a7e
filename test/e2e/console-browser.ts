// A real Chromium for the console's browser tests: playwright-core driving the Chromium build that the
// npm package @sparticuz/chromium ships (no browser download), and a record of everything a page
// complains about (console errors, CSP and Trusted Types refusals, uncaught exceptions, failed loads).
import chromium from "@sparticuz/chromium";
import { type Browser, chromium as playwright, type Page } from "playwright-core";

export async function launchChromium(): Promise<Browser> {
  return playwright.launch({ executablePath: await chromium.executablePath(), args: chromium.args, headless: true });
}

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
