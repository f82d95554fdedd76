import { chromium } from 'playwright-core';
import { startServer } from './serve.mjs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const srv = await startServer({ port: 0 });
const t0 = Date.now();
const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'snn-chrome-')), {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--headless=new', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'],
  viewport: { width: 1400, height: 1000 },
});
console.log('launch', Date.now() - t0);
const page = ctx.pages()[0] ?? await ctx.newPage();
page.on('console', (m) => console.log('console:', m.type(), m.text()));
page.on('pageerror', (e) => console.log('pageerror:', e.message));
await page.goto(srv.url + '?task=add&T=20&H=16&batch=8&auto=1');
const t1 = Date.now();
await page.waitForFunction(() => window.snnPage && (window.snnPage.steps >= 1500 || window.snnPage.status === 'error' || window.snnPage.status === 'no-webgpu'), null, { timeout: 120000 });
console.log('train', Date.now() - t1);
const st = await page.evaluate(() => ({ status: snnPage.status, error: snnPage.error, adapter: snnPage.adapter, steps: snnPage.steps, frame: snnPage.frame, hist: snnPage.history.length, h: snnPage.history.slice(0, 3).concat(snnPage.history.slice(-3)) }));
console.log(JSON.stringify(st, null, 1));
await page.waitForTimeout(1000);
await page.screenshot({ path: '/tmp/page.png', fullPage: true });
await ctx.close(); await srv.close();
