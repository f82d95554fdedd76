/** Node-only data helpers (files, node:zlib). The browser-safe core is ./index. */
export * from './node_files';
