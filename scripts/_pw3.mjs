import { chromium } from 'playwright-core';
import { startServer } from './serve.mjs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const srv = await startServer({ port: 0 });
const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'snn-chrome-')), {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--headless=new', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'],
  viewport: { width: 1400, height: 1000 },
});
const page = ctx.pages()[0] ?? await ctx.newPage();
await page.addInitScript(() => {
  // wrap rAF callbacks and message handlers to time them
  window.__slow = [];
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (cb) => raf((t) => { const t0 = performance.now(); cb(t); const d = performance.now() - t0; if (d > 30) __slow.push(['raf', Math.round(d), Math.round(t0)]); });
  new PerformanceObserver((l) => { for (const e of l.getEntries()) __slow.push(['longtask', Math.round(e.duration), Math.round(e.startTime), JSON.stringify(e.attribution?.map(a=>a.name+':'+a.containerType))]); }).observe({ type: 'longtask', buffered: true });
});
await page.goto(srv.url + '?task=add&T=20&H=16&batch=8&auto=1&metricsMs=0');
await page.waitForFunction(() => window.snnPage && window.snnPage.steps >= 400, null, { timeout: 120000 });
console.log(JSON.stringify(await page.evaluate(() => __slow)));
console.log(JSON.stringify(await page.evaluate(() => { const h = snnPage.history; const a = h[1], b = h[h.length-1]; return { rate: (b.step-a.step)/(b.time-a.time)*1000, h: h.map(p => [p.step, +p.loss.toFixed(4), p.mse === null ? null : +p.mse.toFixed(4)]) }; })));
await page.evaluate(() => snnPage.pause());
await page.waitForTimeout(500);
const r = await page.evaluate(async () => {
  const out = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    window.dispatchEvent(new Event('resize'));
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    out.push(performance.now() - t0);
  }
  return { out, slow: __slow.slice(-5) };
});
console.log('paused', JSON.stringify(r));
await ctx.close(); await srv.close();
