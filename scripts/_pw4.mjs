import { chromium } from 'playwright-core';
import { startServer } from './serve.mjs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const srv = await startServer({ port: 0 });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--headless=new', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'] });
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
await browser.startTracing(page, { path: '/tmp/trace.json', categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8.execute', 'gpu', 'toplevel'] });
await page.goto(srv.url + '?task=add&T=20&H=16&batch=8&auto=1');
await page.waitForFunction(() => window.snnPage && window.snnPage.steps >= 1500, null, { timeout: 120000 });
console.log(JSON.stringify(await page.evaluate(() => snnPage.frame)));
await browser.stopTracing();
await browser.close(); await srv.close();
