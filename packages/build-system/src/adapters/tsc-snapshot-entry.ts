import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { REPLY_PREFIX, STDIN_ARG, type SnapshotWarmRequest } from './tsc-snapshot-protocol.js';
import { compile, compileReply, typeScriptFrom, type LoadedTypeScript, type TscWorkerReply, type TscWorkerRequest } from './tsc-worker.js';

/**
 * Entry of a V8 startup snapshot of TypeScript 5 with its default libs parsed
 * and bound (tsc-snapshot.ts builds it and starts processes from it).
 *
 * Built with `node --snapshot-blob <blob> --build-snapshot <this, bundled to
 * CommonJS>`: while building, `require` reaches only node: builtins, so
 * typescript.js is read and evaluated here as CommonJS with its real
 * __filename (TypeScript finds its lib dir from it). Then one program of the
 * first job's own command line is created and its checker made, without
 * emitting: its declaration files stay in compile()'s cache, parsed and bound
 * (TypeScript's binder skips a file whose `locals` is set), exactly as a warm
 * worker of tsc-pool.ts keeps them. Each entry is still served only while
 * its file's size, mtime, ctime and inode are what they were.
 *
 * A process started from the blob reads one TscWorkerRequest (JSON, its last
 * argument, or from stdin when that argument is STDIN_ARG: a process started
 * while the run was still loading configs), compiles it as the worker would,
 * and prints the reply on one line after REPLY_PREFIX.
 */

let typescript: LoadedTypeScript | undefined;

function buildTime(): void {
  const warm = JSON.parse(process.env.BUILD_SYSTEM_TSC_SNAPSHOT_WARM ?? 'null') as SnapshotWarmRequest | null;
  if (!warm) throw new Error('BUILD_SYSTEM_TSC_SNAPSHOT_WARM is not set');
  const module = { exports: {} as unknown };
  const evaluate = new Function('exports', 'require', 'module', '__filename', '__dirname', readFileSync(warm.tsFile, 'utf8'));
  evaluate(module.exports, require, module, warm.tsFile, path.dirname(warm.tsFile));
  typescript = typeScriptFrom(module.exports);
  compile(typescript, warm.request, true);
  writeFileSync(warm.filesOut, JSON.stringify(typescript.sourceFiles.stamps()));
}

function run(): void {
  const last = process.argv[process.argv.length - 1]!;
  if (last !== STDIN_ARG) {
    answer(JSON.parse(last) as TscWorkerRequest);
    return;
  }
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => (text += chunk));
  process.stdin.on('end', () => {
    // Not needed after all: the run found no job for this TypeScript.
    if (text.trim() === '') return;
    const request = JSON.parse(text) as TscWorkerRequest;
    // Before TypeScript first asks for the cwd (ts.sys memoizes it): the job's paths are relative to its own.
    process.chdir(request.cwd);
    answer(request);
  });
}

function answer(request: TscWorkerRequest): void {
  let reply: TscWorkerReply;
  if (!typescript) {
    reply = { id: request.id, kind: 'unloadable', reason: 'the snapshot holds no TypeScript' };
  } else if (typescript.ts.sys.getCurrentDirectory() !== process.cwd()) {
    // ts.sys memoizes the cwd on first use: one taken while building would resolve this job's paths wrongly.
    reply = { id: request.id, kind: 'unloadable', reason: 'the snapshot holds a stale working directory' };
  } else {
    reply = compileReply(typescript, request);
  }
  process.stdout.write(`${REPLY_PREFIX}${JSON.stringify(reply)}\n`);
}

if (v8.startupSnapshot?.isBuildingSnapshot()) {
  buildTime();
  v8.startupSnapshot.setDeserializeMainFunction(run);
}
