/**
 * Process-level interrupt handling, the ground floor under every module that
 * must clean up on Ctrl-C: held locks release themselves (`lock.ts`), staging
 * directories delete themselves and output swaps finish first
 * (`util/atomic-dir.ts`). It lives in `util/` so those callers depend down on
 * it, never sideways on each other.
 */

/**
 * Synchronous cleanups to run when the process is interrupted (SIGINT,
 * SIGTERM, SIGHUP) or exits: held locks release themselves, uncommitted
 * staging directories delete themselves. Handlers are installed only while
 * there is something to clean up, so an idle importer's signal behaviour is
 * untouched.
 */
const cleanups = new Set<() => void>();
/** Run before the others: stopping whoever still writes (a builder's service) before its output is deleted. */
const firstCleanups = new Set<() => void>();
let critical = 0;
let deferredSignal: NodeJS.Signals | null = null;
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const EXIT_CODES: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
let installed = false;

function runCleanups(): void {
  for (const fn of [...firstCleanups, ...cleanups]) {
    try {
      fn();
    } catch {
      // keep going: every other lock still has to be released
    }
  }
}

function onSignal(sig: NodeJS.Signals): void {
  // Another listener means someone else runs the shutdown (the CLI cancels its
  // builds on Ctrl-C and releases through the normal path; an embedding app has
  // its own plan). Releasing here would free the lock while a build still runs;
  // the 'exit' hook releases whatever is still held when the process ends.
  if (process.listenerCount(sig) > 1) return;
  // During an output swap, finish it first (milliseconds) so outDir is not left
  // half swapped; a second signal does not wait.
  if (critical > 0 && deferredSignal === null) {
    deferredSignal = sig;
    return;
  }
  interruptNow(sig);
}

function interruptNow(sig: NodeJS.Signals): void {
  runCleanups();
  process.exit(EXIT_CODES[sig] ?? 1);
}

function onExit(): void {
  runCleanups();
}

function syncHandlers(): void {
  const want = cleanups.size > 0 || firstCleanups.size > 0 || critical > 0;
  if (want && !installed) {
    for (const s of SIGNALS) process.on(s, onSignal);
    process.on('exit', onExit);
    installed = true;
  } else if (!want && installed) {
    for (const s of SIGNALS) process.off(s, onSignal);
    process.off('exit', onExit);
    installed = false;
  }
}

/**
 * Registers a synchronous cleanup for interrupt/exit; returns its removal.
 * `first`: runs before every other (stop a process that writes into a
 * staging directory before the directory's own cleanup deletes it).
 */
export function onInterrupt(cleanup: () => void, opts: { first?: boolean } = {}): () => void {
  const set = opts.first ? firstCleanups : cleanups;
  set.add(cleanup);
  syncHandlers();
  return () => {
    set.delete(cleanup);
    syncHandlers();
  };
}

/**
 * Runs `fn` with SIGINT/SIGTERM/SIGHUP deferred until it settles (the output
 * swap uses this); a deferred signal is then acted on. A second signal while
 * deferred interrupts at once.
 */
export async function uninterruptible<T>(fn: () => Promise<T>): Promise<T> {
  critical++;
  syncHandlers();
  try {
    return await fn();
  } finally {
    critical--;
    const sig = deferredSignal;
    if (critical === 0) deferredSignal = null;
    syncHandlers();
    if (critical === 0 && sig) interruptNow(sig);
  }
}
