import * as z from 'zod';
import { ADAPTER_NAMES, BUILDER_NAMES } from './adapter-names.js';

/**
 * The one truth about `build.config.*`. TypeScript types are inferred from it
 * and `schema/build-config.schema.json` is generated from it (scripts/build.mjs).
 * Unknown keys are errors at every level (strict objects).
 */

export { ADAPTER_NAMES, BUILDER_NAMES } from './adapter-names.js';
export type { AdapterName, BuilderName } from './adapter-names.js';

const nonEmpty = z.string().min(1, { message: 'must not be empty' });

export const formatSchema = z.enum(['esm', 'cjs']);

const passThrough = z.record(z.string(), z.unknown());

/** A language level, or an engine esbuild knows with its version (TanStack's browser list has ios15 and opera77). */
export const TARGET_PATTERN = /^(es(next|20\d\d|[56])|(node|chrome|deno|edge|firefox|hermes|ie|ios|opera|rhino|safari)\d+(\.\d+){0,2})$/i;
const oneTarget = nonEmpty.regex(TARGET_PATTERN, { message: 'must look like node20, es2022 or esnext' });
/** One target, or several that all hold at once (esbuild's list: ['node18', 'es2017']). */
const targetSchema = z.union([oneTarget, z.array(oneTarget).min(1, { message: 'must list at least one target' })]);
const platformSchema = z.enum(['node', 'browser', 'neutral']);
const externalSchema = z.array(nonEmpty);
const defineSchema = z.record(nonEmpty, z.string());

/**
 * One entry that builds with other options than the package's (tsup's and
 * tsdown's config arrays, whose elements differ in target or externals: a
 * test helper for a newer runtime beside the library). Each option given
 * replaces the package-level one for this entry; the rest are the package's.
 */
const formatListSchema = z.union([formatSchema, z.array(formatSchema).min(1, { message: 'must list at least one format' })]);
const outExtensionSchema = z.strictObject({
  esm: z.enum(['.js', '.mjs']).optional(),
  cjs: z.enum(['.js', '.cjs']).optional(),
});

const entryWithOptionsSchema = z
  .strictObject({
    source: nonEmpty.describe('The entry file, relative to the package.'),
    target: targetSchema.optional().describe("This entry's language target, instead of the package's."),
    platform: platformSchema.optional().describe("This entry's platform, instead of the package's."),
    external: externalSchema.optional().describe("Extra modules kept external for this entry, instead of the package's external (dependencies always are)."),
    noExternal: externalSchema.optional().describe("Dependencies bundled into this entry, instead of the package's noExternal."),
    define: defineSchema.optional().describe("Compile-time replacements for this entry, instead of the package's define."),
    format: formatListSchema.optional().describe("This entry's formats, instead of the package's."),
    outExtension: outExtensionSchema.optional().describe("This entry's JS extensions, instead of the package's (with dts: false for the entry: declarations follow the package's)."),
    splitting: z.boolean().optional().describe("Whether this entry's ESM shares chunks, instead of the package's splitting."),
    dts: z.boolean().optional().describe("Whether this entry gets declarations, instead of the package's dts."),
  })
  .describe('An entry with its own options (esbuild adapter; adapter auto picks esbuild for it).');

export const buildConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of the JSON Schema (for editors); ignored by the build.'),
    adapter: z
      .enum(ADAPTER_NAMES)
      .default('auto')
      .describe("Builder to use. 'auto' picks bun when it is installed, else esbuild."),
    entry: z
      .union([nonEmpty, z.array(nonEmpty).min(1, { message: 'must list at least one entry' }), z.record(nonEmpty, z.union([nonEmpty, entryWithOptionsSchema]))])
      .optional()
      .describe(
        "Entry file(s), relative to the package; a string or list may hold globs ('src/*.ts', '!src/*.test.ts'), expanded at each build. A record maps output names to sources, or to { source, target, platform, external, noExternal, define, format, outExtension, splitting, dts } for an entry built with its own options. Default: derived from package.json exports/main/bin, else src/index.ts.",
      ),
    outDir: nonEmpty.default('dist').describe('Output directory, relative to the package; must stay inside it.'),
    format: formatListSchema.optional().describe("'esm', 'cjs' or both. Default: from package.json (type and exports conditions)."),
    outExtension: outExtensionSchema
      .optional()
      .describe(
        "File extension of the JS outputs per format. Default: what package.json exports/main/module/bin name (e.g. ./dist/index.mjs), else from its type ('.js' for the package's own format, '.mjs'/'.cjs' for the other). Declarations follow: .js -> .d.ts, .mjs -> .d.mts, .cjs -> .d.cts.",
      ),
    formatDir: z
      .strictObject({
        esm: z.string().optional(),
        cjs: z.string().optional(),
      })
      .optional()
      .describe(
        "Directory below outDir per format, for packages that publish each format in its own directory (dist/esm/index.js + dist/cjs/index.js: tshy, apollo-server, tsup's legacyOutput); '' is outDir itself. Each such directory gets a package.json with its \"type\", so its .js files are that format, and its own declarations. Default: from package.json, when its import and require targets are in different directories below outDir; else every format in outDir.",
      ),
    platform: platformSchema.default('node'),
    target: targetSchema
      .optional()
      .describe("Language target, or a list that must all hold (['node18', 'es2017']). Default: node<major> from package.json engines.node, else node20."),
    sourcemap: z.union([z.boolean(), z.enum(['inline', 'external'])]).default(false),
    minify: z.boolean().default(false),
    shims: z
      .boolean()
      .default(false)
      .describe(
        "Node shims, as tsup's and tsdown's `shims`: CommonJS outputs get import.meta.url (from __filename), ESM outputs __dirname and __filename (from import.meta.url). The esbuild adapter applies them ('auto' picks esbuild when it is set); platform node only.",
      ),
    splitting: z
      .boolean()
      .default(true)
      .describe(
        'ESM outputs share what several entries import (and what is imported dynamically) as chunk files (chunk-<hash>.js), so a module and its state exist once per package, as with tsup (ESM) and tsdown. false: every entry bundles its own copy. esbuild and bun split ESM only (CommonJS cannot); rollup always shares chunks.',
      ),
    bundle: z
      .boolean()
      .default(true)
      .describe(
        "false: one output file per source module the entries reach, in the entries' directory layout, importing each other (a relative import is renamed to the output's extension, ./util → ./util.mjs; JSON and CSS imports are still inlined), as tsup's bundle: false and tsdown's unbundle; a module's 'use client' stays at its top. The esbuild adapter writes it ('auto' picks esbuild), and the rollup adapter (preserveModules: a module outside the package's sources, such as a bundled dependency, is an output of its own too); the tsc adapter always does.",
      ),
    dts: z
      .union([
        z.boolean(),
        z.strictObject({
          bundle: z
            .boolean()
            .optional()
            .describe(
              "true: one declaration file per entry and format (index.d.mts beside index.mjs, index.d.cts beside index.cjs), bundled with rollup and rollup-plugin-dts, which the workspace installs (npm install -D rollup rollup-plugin-dts); the per-source declarations are not published. false or absent: as dts: true.",
            ),
          resolve: z
            .union([z.literal(true), z.array(nonEmpty)])
            .optional()
            .describe(
              "With bundle: packages whose declarations are inlined instead of imported (e.g. a private workspace package the package's users do not install). true: every package that is not a dependency, peerDependency or optionalDependency. Default: none (every package stays an import).",
            ),
        }),
      ])
      .optional()
      .describe(
        "Emit declarations with the package's own TypeScript: true, one per source (TypeScript's layout, named per format); { bundle: true }, one per entry and format. Default: true when package.json declares types.",
      ),
    emit: z
      .boolean()
      .default(true)
      .describe('false: type-check only (tsc adapter); nothing is written and outDir is left as it is.'),
    include: z
      .array(nonEmpty)
      .min(1, { message: 'must list at least one pattern' })
      .optional()
      .describe("tsc adapter: source globs to compile, relative to the package; replaces the tsconfig's include (and files)."),
    exclude: z
      .array(nonEmpty)
      .optional()
      .describe("tsc adapter: source globs left out of the build (e.g. tests), relative to the package; replaces the tsconfig's exclude."),
    external: externalSchema
      .optional()
      .describe('Extra modules kept external. dependencies, peerDependencies and optionalDependencies (and subpaths) always are, unless noExternal names them.'),
    noExternal: z
      .array(nonEmpty)
      .default([])
      .describe(
        "Dependencies bundled although package.json lists them (tsup's and tsdown's noExternal, tsdown's deps.alwaysBundle): package names, each with its subpaths, and @scope/* for a whole scope. Wins over external.",
      ),
    define: defineSchema.default({}).describe('Compile-time replacements; values are JS expressions.'),
    banner: z.string().optional().describe('Text put at the top of every JS output (after a shebang).'),
    clean: z
      .boolean()
      .default(true)
      .describe('true: outDir holds exactly this build’s outputs. false: files of the previous outDir that the build does not produce are kept.'),
    env: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be an environment variable name' }))
      .default([])
      .describe('Names of environment variables that affect the build (part of the cache key).'),
    inputs: z.array(nonEmpty).default([]).describe('Extra input globs (relative to the package); a leading ! excludes.'),
    adapterOptions: z
      .strictObject({
        bun: passThrough.optional(),
        esbuild: passThrough.optional(),
        tsc: passThrough.optional(),
        rollup: passThrough.optional(),
      })
      .default({})
      .describe('Options passed through to one adapter, keyed by adapter name.'),
  })
  .describe('build-system package configuration (build.config.ts)');

/** What a user writes (defaults optional). */
export type BuildConfigInput = z.input<typeof buildConfigSchema>;
/** What the loader hands on after validation (defaults applied). */
export type BuildConfig = z.output<typeof buildConfigSchema>;
export type Format = z.infer<typeof formatSchema>;
/** A JS output's extension, per format, after resolution. */
export type OutExtensions = Record<Format, '.js' | '.mjs' | '.cjs'>;
export type Platform = BuildConfig['platform'];
/** An entry record's value with its own options. */
export type EntryWithOptions = z.infer<typeof entryWithOptionsSchema>;
/** `dts` when it is an object: how declarations are bundled. */
export type DtsOptions = Exclude<NonNullable<BuildConfig['dts']>, boolean>;

/** Identity function that gives `build.config.ts` its types. */
export function defineConfig(config: BuildConfigInput): BuildConfigInput {
  return config;
}
