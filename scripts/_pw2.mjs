import { chromium } from 'playwright-core';
import { startServer } from './serve.mjs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const srv = await startServer({ port: 0 });
const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'snn-chrome-')), {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--headless=new', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage', ...(process.env.EXTRA ? process.env.EXTRA.split(' ') : [])],
});
const page = ctx.pages()[0] ?? await ctx.newPage();
page.on('console', (m) => console.log('console:', m.type(), m.text()));
await page.goto(srv.url + 'blank.html');
const r = await page.evaluate(async () => {
  const m = await import('/webgpu-snn.js');
  const e = await m.Engine.create();
  const s = await m.TrainingSession.create(e, { task: 'add', steps: 20, hidden: [16], batch: 8 });
  for (let i = 0; i < 20; i++) s.trainChunk();
  await e.sync();
  const out = { adapter: e.adapterName, features: [...e.device.features] };
  for (const n of [50, 200]) {
    let t = performance.now();
    for (let i = 0; i < n; i++) s.trainChunk();
    const enc = performance.now() - t;
    await e.sync();
    out['n' + n] = { enc: enc / n, tot: (performance.now() - t) / n };
  }
  // one chunk at a time
  let t = performance.now();
  for (let i = 0; i < 20; i++) { s.trainChunk(); await e.device.queue.onSubmittedWorkDone(); }
  out.single = (performance.now() - t) / 20;
  return out;
});
console.log(JSON.stringify(r));
await ctx.close(); await srv.close();
