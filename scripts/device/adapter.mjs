// Names the WebGPU adapter the engine picks (the same choice as the tests, the benches and the CLI:
// SNN_ADAPTER, VK_ICD_FILENAMES), as one JSON line on stdout:
//   node scripts/device/adapter.mjs DIST_NODE_INDEX_JS
// Exits 1, saying why, when no adapter is found or it does not match SNN_ADAPTER.
import { pathToFileURL } from 'node:url';

const index = process.argv[2];
if (!index) {
  console.error('usage: node scripts/device/adapter.mjs path/to/dist/node/index.js');
  process.exit(2);
}
try {
  const { Engine } = await import(pathToFileURL(index).href);
  const e = await Engine.create({ log: (line) => process.stderr.write(`gpu: ${line}\n`) });
  const i = e.ctx.info;
  const l = e.device.limits;
  console.log(
    JSON.stringify({
      adapter: e.adapterName,
      vendor: i.vendor,
      architecture: i.architecture,
      device: i.device,
      description: i.description,
      fallback: i.isFallbackAdapter,
      features: [...e.device.features].sort(),
      maxBufferSize: l.maxBufferSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      snnAdapter: process.env.SNN_ADAPTER ?? null,
      vkIcd: process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES ?? null,
    }),
  );
  e.destroy();
  process.exit(0);
} catch (err) {
  console.error(`adapter: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
