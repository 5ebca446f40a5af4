/**
 * A reader that goes away (`build-system build | head -1`, a closed terminal, a CI step's log pipe
 * cut) makes every later write to that stream fail with EPIPE, which Node raises as an 'error' event:
 * unhandled, it killed the process in the middle of a run, with builds half done and a stack trace
 * instead of a result. The run now goes on to its end (locks released, outputs swapped, the cache
 * written) and what nobody can read is dropped. Any other stream error is still raised.
 */
const guarded = new WeakSet<NodeJS.WriteStream>();

export function ignoreClosedOutput(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    if (guarded.has(stream)) continue;
    guarded.add(stream);
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      // Later writes return at once instead of queueing more EPIPEs.
      stream.write = (() => true) as NodeJS.WriteStream['write'];
    });
  }
}
