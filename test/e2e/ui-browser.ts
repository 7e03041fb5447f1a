// Debian's Chromium driven by playwright-core, as the browser tests and the UI bench use it.
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.QX_CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * page.goto, tried again when Chromium aborts the navigation with ERR_NETWORK_CHANGED. Chromium
 * aborts navigations whenever any interface of the machine changes address; the network tests
 * that run beside the browser tests create and delete bridges, veths and namespaces all along,
 * so a navigation can meet one of their changes (seen in a CI simulation). Nothing of the
 * product is involved; any other error still fails at once.
 */
export async function gotoPage(page: Page, url: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.goto(url);
      return;
    } catch (err) {
      if (attempt >= 3 || !String((err as Error).message).includes('ERR_NETWORK_CHANGED')) throw err;
    }
  }
}
