/**
 * A child process for the lock and atomic-dir tests: real processes with real
 * timers contending for real locks. Run with `node --import tsx lock-worker.ts '<json args>'`
 * (see startWorker in procs.ts). Prints one JSON event per line on stdout.
 */
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { acquirePackageLock } from '../../src/lock.js';
import { createStagingDir, swapInStaging } from '../../src/util/atomic-dir.js';
import { loadPackageInfo } from '../../src/workspace/package-info.js';
import { ReadLog } from '../../src/util/read-log.js';

interface Args {
  op: 'hold' | 'contend' | 'swap';
  pkgDir: string;
  timeoutMs?: number;
  staleMs?: number;
  command?: string;
  /** hold: release after this long (default: hold until killed). contend: hold each round this long. */
  holdMs?: number;
  /** contend: start when this file exists (lines several processes up). */
  go?: string;
  /** contend: created exclusively (O_EXCL) while holding; EEXIST means two holders at once. */
  marker?: string;
  rounds?: number;
  /** swap: file sets to publish in turn, `count` swaps in all. */
  outDir?: string;
  sets?: Record<string, string>[];
  count?: number;
  keepStale?: boolean;
  /** Take the lock as a brief hold (no owner record unless it lasts). */
  brief?: boolean;
  /** hold: behave like an app with its own SIGINT handler (it exits 7 after 300 ms). */
  appSigint?: boolean;
}

const raw = process.argv[2]!;
const args = JSON.parse(raw.startsWith('@') ? readFileSync(raw.slice(1), 'utf8') : raw) as Args;
const emit = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const forever = () => new Promise<never>(() => setInterval(() => {}, 1 << 30));

const pkg = loadPackageInfo(args.pkgDir, new ReadLog());
const lockOpts = { timeoutMs: args.timeoutMs, staleMs: args.staleMs, command: args.command, brief: args.brief };

switch (args.op) {
  case 'hold': {
    if (args.appSigint) {
      process.on('SIGINT', () => {
        emit({ type: 'app-sigint' });
        setTimeout(() => process.exit(7), 300);
      });
    }
    const lock = await acquirePackageLock(pkg, { ...lockOpts, onWait: (message) => emit({ type: 'wait', message }) });
    emit({ type: 'acquired', pid: process.pid, owner: lock.owner, tookOver: lock.tookOver ?? null, waitedMs: lock.waitedMs });
    if (args.holdMs === undefined) await forever();
    await sleep(args.holdMs!);
    await lock.release();
    emit({ type: 'released' });
    break;
  }
  case 'contend': {
    // Loaded and about to watch for the start file: the test starts everyone at once after all say so.
    emit({ type: 'ready' });
    while (!existsSync(args.go!)) await sleep(1);
    for (let i = 0; i < (args.rounds ?? 1); i++) {
      const lock = await acquirePackageLock(pkg, lockOpts);
      let violation = false;
      try {
        writeFileSync(args.marker!, String(process.pid), { flag: 'wx' });
      } catch {
        violation = true;
      }
      await sleep(args.holdMs ?? 0);
      // Marker first, lock second: the next holder must find no marker.
      if (!violation) unlinkSync(args.marker!);
      await lock.release();
      emit({ type: 'round', violation, tookOver: lock.tookOver ?? null, waitedMs: lock.waitedMs });
    }
    break;
  }
  case 'swap': {
    const sets = args.sets!;
    for (let i = 0; i < (args.count ?? 1); i++) {
      const staging = await createStagingDir(args.pkgDir, args.outDir!);
      for (const [rel, content] of Object.entries(sets[i % sets.length]!)) {
        mkdirSync(path.dirname(path.join(staging, rel)), { recursive: true });
        writeFileSync(path.join(staging, rel), content);
      }
      await swapInStaging(args.pkgDir, args.outDir!, staging, { keepStale: args.keepStale });
    }
    emit({ type: 'done' });
    break;
  }
}
