// Long because: a worker entry that may import only node: builtins (see below), so its compile loop and its source-file cache cannot share modules with the main thread.
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import type * as TS from 'typescript';

/**
 * Worker entry of the in-process tsc (see tsc-pool.ts): runs one tsc command
 * line at a time with the package's own TypeScript (< 7, loaded once per
 * TypeScript dir and kept) and answers with what `tsc --pretty false
 * --listEmittedFiles` would have printed and its exit code, so the main thread
 * reads both paths with the same parser.
 *
 * Only node: builtins are imported (the `typescript` import is types only):
 * a worker starts with an empty module cache, and every module it loads is
 * start-up time paid per worker. It can also be started from a data: URL
 * (tests run the sources), so it must not import files relative to itself.
 */

export interface TscWorkerRequest {
  id: number;
  /** The package's TypeScript directory (has lib/typescript.js). */
  tsDir: string;
  /** tsc's command line, as built by tscArgs. */
  args: string[];
  /** The package directory: what tsc's cwd would be. */
  cwd: string;
  /** The staging dir: emitted files elsewhere are reported but not written. */
  outDir: string;
}

export type TscWorkerReply =
  /**
   * tsc's stdout lines (diagnostics, then TSFILE lines) and exit code, and the
   * files the compiler read (what `--listFiles` prints: the program's files).
   */
  | { id: number; kind: 'done'; lines: string[]; exitCode: number; reads: string[] }
  /** The command line asks for something only the real tsc CLI does (listFiles, watch, locale…): spawn it. */
  | { id: number; kind: 'unsupported'; reason: string }
  /** This TypeScript cannot be run in-process (not loadable, API missing): spawn tsc for it from now on. */
  | { id: number; kind: 'unloadable'; reason: string }
  /** The compiler threw: spawn tsc (which reports the crash its own way); this worker is discarded. */
  | { id: number; kind: 'failed'; reason: string };

/** Anything written to this worker's stdout/stderr while a job runs (the main thread logs it as it would a spawned tsc's). */
export interface TscWorkerOutput {
  kind: 'output';
  stream: 'stdout' | 'stderr';
  text: string;
}

/** Exported at runtime by every TypeScript 5.x/6.x but not in its .d.ts; without them the package's tsc is spawned instead. */
interface TsInternals {
  convertToOptionsWithAbsolutePaths(options: TS.CompilerOptions, toAbsolutePath: (path: string) => string): TS.CompilerOptions;
  getNormalizedAbsolutePath(fileName: string, currentDirectory: string): string;
  createGetCanonicalFileName(useCaseSensitiveFileNames: boolean): (fileName: string) => string;
}

type TypeScript = typeof TS & TsInternals;

class UnsupportedCommandLine extends Error {}

/**
 * Options that make tsc print more than diagnostics and emitted files, or act
 * as another command, or change process-wide state (locale): the in-process
 * run would not print what tsc prints, so these are left to the real tsc.
 */
const CLI_ONLY_OPTIONS = [
  'build',
  'watch',
  'init',
  'version',
  'help',
  'all',
  'showConfig',
  'locale',
  'listFiles',
  'listFilesOnly',
  'explainFiles',
  'traceResolution',
  'diagnostics',
  'extendedDiagnostics',
  'generateTrace',
  'generateCpuProfile',
] as const;

/**
 * Compiler options that change how a file is parsed or bound (TypeScript's
 * own document registry shares a SourceFile between programs only when these
 * agree). Used with `sourceFileAffectingCompilerOptions` where the
 * TypeScript exposes it; raw values, so options that default from others
 * (alwaysStrict from strict) are covered by also keying on those others.
 */
const PARSE_AFFECTING_OPTIONS = [
  'target',
  'module',
  'moduleResolution',
  'moduleDetection',
  'jsx',
  'jsxImportSource',
  'importHelpers',
  'strict',
  'alwaysStrict',
  'noFallthroughCasesInSwitch',
  'allowUnusedLabels',
  'allowUnreachableCode',
  'preserveConstEnums',
  'isolatedModules',
  'verbatimModuleSyntax',
];

const DECLARATION_FILE = /\.d\.(?:[cm]?ts|[^./\\]+\.ts)$/i;

/**
 * Parsed declaration files kept across programs, least recently used first.
 * Only declaration files: they are what programs of different packages share
 * (TypeScript's lib/*.d.ts, @types, a dependency's dist/*.d.ts), and they are
 * never emitted; a package's own sources are parsed once per build anyway,
 * and emitting marks their nodes, which no two tsc programs ever share.
 * An entry is served only while the file's size, mtime, ctime and inode are what
 * they were when it was parsed (statted before reading, so a file rewritten
 * meanwhile is parsed again next time, never served stale): a dependency's
 * dist is rebuilt between the packages that use it.
 */
class SourceFileCache {
  private readonly entries = new Map<string, { stamp: string; file: TS.SourceFile; chars: number }>();
  private chars = 0;

  /** The budget is in characters of source text; the parsed tree costs about 10-20x that in heap. */
  constructor(private readonly maxChars: number) {}

  get(key: string, stamp: string): TS.SourceFile | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.stamp !== stamp) {
      this.chars -= entry.chars;
      return undefined;
    }
    this.entries.set(key, entry);
    return entry.file;
  }

  /** Each cached file's name and stamp (tsc-snapshot.ts checks a snapshot's libs by them). */
  stamps(): [string, string][] {
    return [...this.entries.values()].map((e) => [e.file.fileName, e.stamp]);
  }

  set(key: string, stamp: string, file: TS.SourceFile): void {
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.chars -= old.chars;
    }
    const chars = file.text.length;
    if (chars > this.maxChars) return;
    this.entries.set(key, { stamp, file, chars });
    this.chars += chars;
    for (const [oldest, entry] of this.entries) {
      if (this.chars <= this.maxChars) break;
      this.entries.delete(oldest);
      this.chars -= entry.chars;
    }
  }
}

export interface LoadedTypeScript {
  ts: TypeScript;
  parseAffecting: string[];
  sourceFiles: SourceFileCache;
}

const loaded = new Map<string, LoadedTypeScript>();

// ~32M characters: TypeScript's libs, @types/node and a few hundred declaration files of dependencies.
const SOURCE_FILE_CACHE_CHARS = 32 * 1024 * 1024;

function loadTypeScript(tsDir: string): LoadedTypeScript {
  let found = loaded.get(tsDir);
  if (!found) {
    found = typeScriptFrom(createRequire(path.join(tsDir, 'package.json'))(path.join(tsDir, 'lib', 'typescript.js')));
    loaded.set(tsDir, found);
  }
  return found;
}

/** A loaded typescript.js checked for the API compile() uses, with an empty declaration-file cache (also used by tsc-snapshot-entry.ts). */
export function typeScriptFrom(module: unknown): LoadedTypeScript {
  const ts = module as TypeScript;
  const needed = [
    'parseCommandLine',
    'getParsedCommandLineOfConfigFile',
    'createCompilerHost',
    'createProgram',
    'formatDiagnostic',
    'sortAndDeduplicateDiagnostics',
    'getConfigFileParsingDiagnostics',
    'convertToOptionsWithAbsolutePaths',
    'getNormalizedAbsolutePath',
    'createGetCanonicalFileName',
  ] as const;
  const missing = needed.filter((name) => typeof ts[name] !== 'function');
  if (missing.length > 0) throw new Error(`typescript ${ts.version} has no ${missing.join(', ')}`);
  const exposed = (ts as unknown as { sourceFileAffectingCompilerOptions?: { name: string }[] }).sourceFileAffectingCompilerOptions;
  const parseAffecting = [...new Set([...PARSE_AFFECTING_OPTIONS, ...(Array.isArray(exposed) ? exposed.map((o) => o.name) : [])])].sort();
  return { ts, parseAffecting, sourceFiles: new SourceFileCache(SOURCE_FILE_CACHE_CHARS) };
}

// util/paths.ts's isInside, repeated on purpose: this worker imports only node: builtins, because
// run from the sources it is started as a data: URL (tsc-pool.ts), which cannot resolve relative imports.
function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** Throws UnsupportedCommandLine when tsc itself would do more than compile and report. */
function assertCompileOnly(options: TS.CompilerOptions, where: string): void {
  for (const name of CLI_ONLY_OPTIONS) {
    if (options[name] !== undefined && options[name] !== false) throw new UnsupportedCommandLine(`${where} sets ${name}`);
  }
  // Pretty output is not what the parser reads; tscArgs says --pretty false, only extra args can undo it.
  if (options.pretty === true) throw new UnsupportedCommandLine(`${where} sets pretty`);
}

/**
 * What `tsc <args>` does in `cwd` when it compiles: the steps of tsc's
 * executeCommandLine and emitFilesAndReportErrors (5.x), with a plain
 * program instead of an incremental one (see below).
 */
export function compile(typescript: LoadedTypeScript, request: TscWorkerRequest, warmOnly = false): { lines: string[]; exitCode: number; reads: string[] } {
  const { ts } = typescript;
  const { cwd, outDir } = request;
  const lines: string[] = [];
  const formatHost: TS.FormatDiagnosticsHost = {
    getCurrentDirectory: () => cwd,
    getNewLine: () => '\n',
    getCanonicalFileName: ts.createGetCanonicalFileName(ts.sys.useCaseSensitiveFileNames),
  };
  const report = (d: TS.Diagnostic) => lines.push(...ts.formatDiagnostic(d, formatHost).replace(/\n$/, '').split('\n'));
  const absolute = (fileName: string) => ts.getNormalizedAbsolutePath(fileName, cwd);

  const commandLine = ts.parseCommandLine(request.args, (file) => ts.sys.readFile(absolute(file)));
  assertCompileOnly(commandLine.options, 'the command line');
  if (commandLine.errors.length > 0) {
    commandLine.errors.forEach(report);
    return { lines, exitCode: 1, reads: [] };
  }
  const commandLineOptions = ts.convertToOptionsWithAbsolutePaths(commandLine.options, absolute);

  let config: TS.ParsedCommandLine;
  if (commandLine.options.project) {
    if (commandLine.fileNames.length > 0) throw new UnsupportedCommandLine('-p together with files');
    let configFile = absolute(commandLine.options.project);
    if (ts.sys.directoryExists(configFile)) configFile = path.posix.join(configFile, 'tsconfig.json');
    // tsc's own wording for a missing tsconfig comes with the spawned tsc.
    if (!ts.sys.fileExists(configFile)) throw new UnsupportedCommandLine(`${configFile} does not exist`);
    let unrecoverable: TS.Diagnostic | undefined;
    const parseHost: TS.ParseConfigFileHost = {
      useCaseSensitiveFileNames: ts.sys.useCaseSensitiveFileNames,
      readDirectory: ts.sys.readDirectory,
      fileExists: ts.sys.fileExists,
      readFile: ts.sys.readFile,
      // Relative paths in the tsconfig resolve against its own dir; this is for anything else relative.
      getCurrentDirectory: () => cwd,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        unrecoverable ??= d;
      },
    };
    // Command-line options extend (override) the tsconfig's, as with tsc -p.
    const parsed = ts.getParsedCommandLineOfConfigFile(configFile, commandLineOptions, parseHost, undefined, commandLine.watchOptions);
    // tsc exits at the first unrecoverable config diagnostic (unreadable tsconfig or extends).
    if (unrecoverable || !parsed) {
      if (unrecoverable) report(unrecoverable);
      return { lines, exitCode: 1, reads: [] };
    }
    config = parsed;
  } else {
    // Without -p and files tsc would look for a tsconfig upward or print its help: never what tscArgs asks for.
    if (commandLine.fileNames.length === 0) throw new UnsupportedCommandLine('no -p and no files');
    config = { ...commandLine, options: commandLineOptions };
  }
  assertCompileOnly(config.options, 'the tsconfig');

  // tscArgs makes every spawned tsc incremental with a throw-away tsbuildinfo
  // so that no old one can make it skip emit. A plain program never reads one,
  // so the flags are dropped (a tsconfig's tsBuildInfoFile without them would
  // be TS5069); composite still implies a tsbuildinfo, which writeFile skips.
  // Changed in place, not copied: options.configFile (the parsed tsconfig,
  // which locates option errors in it) is not enumerable and a copy loses it.
  const options = config.options;
  delete options.incremental;
  delete options.tsBuildInfoFile;

  const emitted: string[] = [];
  const host = ts.createCompilerHost(options);
  // What tsc sets on its host (5.3+): JSDoc parsed only where type checking needs it.
  host.jsDocParsingMode = ts.JSDocParsingMode?.ParseForTypeErrors;
  // A worker cannot chdir, and tsc resolves everything relative against its cwd.
  host.getCurrentDirectory = () => cwd;
  host.getSourceFile = cachingGetSourceFile(typescript, options, host.getSourceFile.bind(host));
  host.writeFile = (fileName, text, writeByteOrderMark, onError) => {
    if (fileName.endsWith('.tsbuildinfo')) return;
    const file = absolute(fileName);
    emitted.push(file);
    // Reported by the main thread as an error; writing it would leave a file outside the staging dir behind.
    if (!isInside(outDir, file)) return;
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, writeByteOrderMark ? `\uFEFF${text}` : text);
    } catch (e) {
      onError?.((e as Error).message);
    }
  };

  const program = ts.createProgram({
    rootNames: config.fileNames,
    options,
    projectReferences: config.projectReferences,
    host,
    configFileParsingDiagnostics: ts.getConfigFileParsingDiagnostics(config),
  });
  if (warmOnly) {
    // What a later program of the same options reuses: its declaration files parsed (cached) and bound (creating the checker binds them).
    program.getGlobalDiagnostics();
    return { lines: [], exitCode: 0, reads: [] };
  }

  // The order and short-circuits of tsc's emitFilesAndReportErrors: semantic
  // diagnostics only without syntax errors, declaration diagnostics only when
  // noEmit would hide them, emit always.
  const all: TS.Diagnostic[] = [...program.getConfigFileParsingDiagnostics()];
  const configCount = all.length;
  all.push(...program.getSyntacticDiagnostics());
  if (all.length === configCount) {
    all.push(...program.getOptionsDiagnostics());
    all.push(...program.getGlobalDiagnostics());
    if (all.length === configCount) all.push(...program.getSemanticDiagnostics());
    if (options.noEmit && (options.declaration || options.composite) && all.length === configCount) all.push(...program.getDeclarationDiagnostics());
  }
  const emitResult = program.emit();
  all.push(...emitResult.diagnostics);
  const diagnostics = ts.sortAndDeduplicateDiagnostics(all);
  diagnostics.forEach(report);
  if (options.listEmittedFiles) for (const file of emitted) lines.push(`TSFILE: ${file}`);
  const exitCode = diagnostics.length === 0 ? 0 : emitResult.emitSkipped ? 1 : 2;
  // What the spawned tsc prints for --listFiles; the tsconfig and its extends chain are found by the main thread for both paths.
  const reads = program.getSourceFiles().map((f) => absolute(f.fileName));
  return { lines, exitCode, reads };
}

/**
 * host.getSourceFile with declaration files served from the worker's cache.
 * The key is the file name plus everything the program passes that shapes the
 * parse (language version, module format, JSDoc mode) and the options that
 * shape parsing and binding; the stamp is size, mtime, ctime and inode.
 */
function cachingGetSourceFile(typescript: LoadedTypeScript, options: TS.CompilerOptions, parse: TS.CompilerHost['getSourceFile']): TS.CompilerHost['getSourceFile'] {
  const optionsKey = JSON.stringify(typescript.parseAffecting.map((name) => options[name] ?? null));
  return (fileName, languageVersionOrOptions, onError, shouldCreateNewSourceFile) => {
    if (shouldCreateNewSourceFile || !DECLARATION_FILE.test(fileName)) return parse(fileName, languageVersionOrOptions, onError, shouldCreateNewSourceFile);
    let stat;
    try {
      stat = statSync(fileName);
    } catch {
      return parse(fileName, languageVersionOrOptions, onError, shouldCreateNewSourceFile);
    }
    const how =
      typeof languageVersionOrOptions === 'object'
        ? [languageVersionOrOptions.languageVersion, languageVersionOrOptions.impliedNodeFormat ?? null, languageVersionOrOptions.jsDocParsingMode ?? null]
        : [languageVersionOrOptions, null, null];
    const key = `${fileName}\0${JSON.stringify(how)}\0${optionsKey}`;
    // ctime too: no one can set it back, so even a same-size rewrite with its mtime restored is seen.
    const stamp = `${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}:${stat.ino}`;
    const cached = typescript.sourceFiles.get(key, stamp);
    if (cached) return cached;
    const file = parse(fileName, languageVersionOrOptions, onError, shouldCreateNewSourceFile);
    if (file) typescript.sourceFiles.set(key, stamp, file);
    return file;
  };
}

function handle(request: TscWorkerRequest): TscWorkerReply {
  let typescript: LoadedTypeScript;
  try {
    typescript = loadTypeScript(request.tsDir);
  } catch (e) {
    return { id: request.id, kind: 'unloadable', reason: (e as Error).message };
  }
  return compileReply(typescript, request);
}

/** compile() as a reply: a command line only tsc runs is `unsupported`, a throw `failed`. */
export function compileReply(typescript: LoadedTypeScript, request: TscWorkerRequest): TscWorkerReply {
  const { id } = request;
  try {
    return { id, kind: 'done', ...compile(typescript, request) };
  } catch (e) {
    if (e instanceof UnsupportedCommandLine) return { id, kind: 'unsupported', reason: e.message };
    return { id, kind: 'failed', reason: (e as Error).stack ?? String(e) };
  }
}

if (parentPort) {
  const port = parentPort;
  // Sent as messages rather than through the Worker's stdout/stderr option:
  // reading those streams keeps the parent process alive even while the
  // worker is unref()ed (Node 20), and unpiped they would reach the parent's
  // stdout, which may be carrying --json.
  for (const stream of ['stdout', 'stderr'] as const) {
    process[stream].write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      port.postMessage({ kind: 'output', stream, text: typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8') } satisfies TscWorkerOutput);
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      done?.();
      return true;
    }) as typeof process.stdout.write;
  }
  port.on('message', (request: TscWorkerRequest) => port.postMessage(handle(request)));
}
