// Headless Chromium for page tests: Debian's /usr/bin/chromium driven by playwright-core. Without
// it the page tests skip with a notice, unless THUNDERLINK_REQUIRE_BROWSER=1 makes that a failure.
import { existsSync } from 'node:fs';

import { type Browser, chromium } from 'playwright-core';

export const chromiumPath = process.env.THUNDERLINK_CHROMIUM ?? '/usr/bin/chromium';
export const browserRequired = process.env.THUNDERLINK_REQUIRE_BROWSER === '1';

export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

/** Launches Chromium, or returns null (after a notice) when it is missing and not required. */
export async function launchBrowser(): Promise<Browser | null> {
  if (!existsSync(chromiumPath)) {
    if (browserRequired) {
      throw new Error(`THUNDERLINK_REQUIRE_BROWSER=1 but ${chromiumPath} does not exist`);
    }
    console.warn(
      `\n*** Browser tests SKIPPED: ${chromiumPath} is missing (apt-get install chromium). ` +
        'Set THUNDERLINK_REQUIRE_BROWSER=1 to make this a failure. ***\n',
    );
    return null;
  }
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
}
