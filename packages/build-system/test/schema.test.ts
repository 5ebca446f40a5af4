import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from './helpers/fixture.js';

describe('JSON Schemas are generated from the zod schemas', () => {
  it('schema/*.json equal what scripts/generate-schemas.mjs produces now', async () => {
    const { generateSchemas } = await import(path.join(packageRoot, 'scripts/generate-schemas.mjs'));
    const generated: Record<string, string> = await generateSchemas();
    expect(Object.keys(generated).sort()).toEqual(['build-config.schema.json', 'build-result.schema.json', 'init-result.schema.json', 'run-result.schema.json', 'watch-round.schema.json']);
    for (const [name, text] of Object.entries(generated)) {
      expect(readFileSync(path.join(packageRoot, 'schema', name), 'utf8'), `${name} is stale: run npm run schemas -w packages/build-system`).toBe(text);
    }
  });

  it('the config schema forbids unknown keys and lists every field', () => {
    const schema = JSON.parse(readFileSync(path.join(packageRoot, 'schema/build-config.schema.json'), 'utf8'));
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties).sort()).toEqual(
      ['$schema', 'adapter', 'adapterOptions', 'banner', 'bundle', 'clean', 'define', 'dts', 'emit', 'entry', 'env', 'exclude', 'external', 'format', 'formatDir', 'include', 'inputs', 'minify', 'noExternal', 'outDir', 'outExtension', 'platform', 'shims', 'sourcemap', 'splitting', 'target'].sort(),
    );
  });

  it('a diagnostic names the file and the field inside it (package.json validation: exports["./utils"].require.types)', () => {
    const schema = JSON.parse(readFileSync(path.join(packageRoot, 'schema/build-result.schema.json'), 'utf8'));
    const diagnostic = schema.properties.diagnostics.items;
    expect(diagnostic.additionalProperties).toBe(false);
    expect(Object.keys(diagnostic.properties).sort()).toEqual(['code', 'column', 'field', 'file', 'line', 'message', 'severity']);
    expect(diagnostic.properties.field.type).toBe('string');
  });
});
