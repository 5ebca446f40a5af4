// Writes schema/*.schema.json from the zod schemas (the one truth). Run after `npm run build`:
//   npm run schemas -w packages/build-system
// test/schema.test.ts fails when a committed file differs from what this generates.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function generateSchemas(dist = path.join(root, 'dist')) {
  const { z } = await import('zod');
  const { buildConfigSchema } = await import(pathToFileURL(path.join(dist, 'config/schema.js')).href);
  const { buildResultSchema, runResultSchema } = await import(pathToFileURL(path.join(dist, 'result/schema.js')).href);
  const { initResultSchema } = await import(pathToFileURL(path.join(dist, 'init/result-schema.js')).href);
  const { watchRoundSchema } = await import(pathToFileURL(path.join(dist, 'result/watch-schema.js')).href);
  const text = (schema, io) => `${JSON.stringify(z.toJSONSchema(schema, { io, target: 'draft-2020-12' }), null, 2)}\n`;
  return {
    'build-config.schema.json': text(buildConfigSchema, 'input'),
    'build-result.schema.json': text(buildResultSchema, 'output'),
    'run-result.schema.json': text(runResultSchema, 'output'),
    'init-result.schema.json': text(initResultSchema, 'output'),
    'watch-round.schema.json': text(watchRoundSchema, 'output'),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = path.join(root, 'schema');
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(await generateSchemas())) writeFileSync(path.join(dir, name), content);
}
