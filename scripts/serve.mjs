#!/usr/bin/env node
// A tiny static server for the live training page: serves web/ and dist/browser/ (built by
// `node scripts/build.mjs`) from http://127.0.0.1:PORT — a secure context, so navigator.gpu
// exists. No server-side code: the page reads MNIST files the user picks, in the browser.
//
//   node scripts/serve.mjs [--port 8080] [--host 127.0.0.1]     (npm run serve builds first)
//   import { startServer } from './scripts/serve.mjs'; const s = await startServer({ port: 0 });
import { createServer } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Start the server. `roots` are searched in order for each path ('/' is index.html).
 * Resolves to { server, port, url, close() } once listening; port 0 picks a free port.
 */
export function startServer({ port = 8080, host = '127.0.0.1', roots = [join(root, 'web'), join(root, 'dist/browser')], quiet = true } = {}) {
  const absRoots = roots.map((r) => resolve(r));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let path;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      res.writeHead(400).end('bad path');
      return;
    }
    if (path.endsWith('/')) path += 'index.html';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    for (const r of absRoots) {
      const file = normalize(join(r, path));
      if (file !== r && !file.startsWith(r + sep)) continue; // no escaping the roots
      if (existsSync(file) && statSync(file).isFile()) {
        const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
        res.writeHead(200, { 'Content-Type': type, 'Content-Length': statSync(file).size, 'Cache-Control': 'no-store' });
        if (req.method === 'HEAD') res.end();
        else createReadStream(file).pipe(res);
        if (!quiet) console.log(`200 ${path}`);
        return;
      }
    }
    if (!quiet) console.log(`404 ${path}`);
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`not found: ${path}`);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      const actual = typeof addr === 'object' && addr ? addr.port : port;
      resolvePromise({
        server,
        port: actual,
        url: `http://${host}:${actual}/`,
        close: () => new Promise((r) => server.close(() => r(undefined))),
      });
    });
  });
}

function argValue(argv, name) {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return argv[i].includes('=') ? argv[i].slice(name.length + 1) : argv[i + 1];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const port = Number(argValue(argv, '--port') ?? process.env.PORT ?? 8080);
  const host = argValue(argv, '--host') ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: --port must be an integer in 0..65535, got ${argValue(argv, '--port')}`);
    process.exit(2);
  }
  if (!existsSync(join(root, 'dist/browser/webgpu-snn.js')) || !existsSync(join(root, 'dist/browser/app.js'))) {
    console.error('serve: dist/browser/ is missing; run `npm run build` first (or `npm run serve`, which builds).');
    process.exit(1);
  }
  const s = await startServer({ port, host, quiet: !argv.includes('--verbose') });
  console.log(`webgpu-snn live training page: ${s.url}`);
  console.log(`(in Chrome/Edge with WebGPU; e.g. ${s.url}?task=add&T=20&H=16&batch=8&auto=1 starts the Add task at once)`);
}
