import { describe, expect, it } from 'vitest';
import { defaultBuildConfig } from '../src/config/default-config.js';
import { buildConfigSchema } from '../src/config/schema.js';

/** The defaults written out for the paths that must not load zod (config/default-config.ts) are the schema's. */
describe('defaultBuildConfig', () => {
  it("equals the schema's defaults (buildConfigSchema.parse({}))", () => {
    expect(defaultBuildConfig()).toStrictEqual(buildConfigSchema.parse({}));
  });

  it('is a fresh object per call', () => {
    const a = defaultBuildConfig();
    a.env.push('X');
    expect(defaultBuildConfig().env).toEqual([]);
  });
});
