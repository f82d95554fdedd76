/**
 * Real-Chromium helpers for the browser tests: build the browser bundle, serve web/ + dist/browser/
 * on a free port, and launch Debian's /usr/bin/chromium (or $CHROMIUM_PATH) through playwright-core
 * with WebGPU on (SwiftShader without a GPU). A missing Chromium FAILS the tests: CI installs it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OUT_DIR = join(ROOT, 'test-output', 'browser');

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--headless=new',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

export function chromiumPath(): string {
  const p = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(p)) {
    throw new Error(`Chromium not found at ${p}: install it (\`apt-get install -y chromium\` on Debian) or set CHROMIUM_PATH. The browser tests need a real Chromium.`);
  }
  return p;
}

/** dist/browser/webgpu-snn.js and app.js, from the current sources (esbuild, ~1 s). */
export function buildBrowserBundle(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--browser'], { cwd: ROOT, stdio: 'pipe' });
}

export interface Served {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function serve(): Promise<Served> {
  const mod = (await import(/* @vite-ignore */ join(ROOT, 'scripts/serve.mjs'))) as {
    startServer(o: { port: number }): Promise<Served>;
  };
  return mod.startServer({ port: 0 });
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

/** Chromium with a fresh profile; `extraArgs` are appended to CHROMIUM_FLAGS. */
export async function launch(extraArgs: string[] = []): Promise<Browser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'snn-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath(),
    headless: true,
    args: [...CHROMIUM_FLAGS, ...extraArgs],
    viewport: { width: 1360, height: 1000 },
    deviceScaleFactor: 1,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
