// A real Chromium for the console's browser tests and screenshots: playwright-core driving the build
// that the npm package @sparticuz/chromium ships (no browser download).
import chromium from "@sparticuz/chromium";
import { type Browser, chromium as playwright } from "playwright-core";

export async function launchChromium(): Promise<Browser> {
  return playwright.launch({ executablePath: await chromium.executablePath(), args: chromium.args, headless: true });
}
