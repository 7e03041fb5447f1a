// Debian's Chromium driven by playwright-core, as the browser tests and the UI bench use it.
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.QX_CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
