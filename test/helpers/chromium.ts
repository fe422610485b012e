/**
 * Opens a page in Debian's headless Chromium through puppeteer-core (no browser download) and
 * reports what rendered and what the page tried to fetch. Tests skip, naming the path, where
 * Chromium is not installed (`.ci/run` installs it).
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const CHROMIUM = process.env.WDP_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `chromium not found at ${CHROMIUM} (apt-get install -y chromium; .ci/run does)`;
}

export interface RenderedPage {
  /** Per element id: how many <path> elements with a non-empty `d` its SVG holds. */
  readonly paths: Record<string, number>;
  /** Every request the page made, the document itself included. */
  readonly requests: readonly string[];
  /** Requests other than the document (each was aborted). */
  readonly blocked: readonly string[];
}

export async function renderInChromium(file: string, chartIds: readonly string[], screenshot?: string): Promise<RenderedPage> {
  const puppeteer = await import('puppeteer-core');
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage();
    const url = pathToFileURL(file).href;
    const requests: string[] = [];
    const blocked: string[] = [];
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      requests.push(req.url());
      if (req.url() === url) void req.continue();
      else {
        blocked.push(req.url());
        void req.abort();
      }
    });
    await page.goto(url, { waitUntil: 'load' });
    const paths: Record<string, number> = {};
    for (const id of chartIds) {
      const ds = await page.$$eval(`#${id} svg path`, (els) => els.map((el) => el.getAttribute('d') ?? ''));
      paths[id] = (await page.$(`#${id}`)) ? ds.filter((d) => d.trim().length > 0).length : -1;
    }
    if (screenshot) await page.screenshot({ path: screenshot as `${string}.png`, fullPage: true });
    return { paths, requests, blocked };
  } finally {
    await browser.close();
  }
}
