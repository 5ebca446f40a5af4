import { writeSync } from 'node:fs';
import { ignoreClosedOutput } from './closed-output.js';

/** A file descriptor: 1 and 2 in the CLI. */
type Fd = number;

/**
 * Writes to stdout and stderr, kept in order and written at flush with one write per run of one
 * descriptor's chunks (the replayed no-op's output, commands/build-replay.ts). Written with
 * fs.writeSync, not through process.stdout: making the process's stream loads Node's stream modules
 * (~3 ms of a replay). A reader that has gone (EPIPE) gets nothing more, as closed-output.ts does for
 * the streams. A descriptor that would block (EAGAIN: it is non-blocking and its reader is slow) gets
 * the rest, and everything after, through its stream, which queues: the order is kept.
 */
export class OrderedOutput {
  private readonly chunks: { fd: Fd; text: string }[] = [];
  private readonly closed = new Set<number>();
  private readonly viaStream = new Set<number>();

  /** @param streamOf the stream of a descriptor, for what writeSync cannot take now (tests pass their own). */
  constructor(private readonly streamOf: (fd: Fd) => NodeJS.WritableStream = processStream) {}

  /** A stand-in stream whose writes are kept for `fd`. */
  stream(fd: Fd): NodeJS.WritableStream {
    return {
      write: (text: string) => {
        const last = this.chunks.at(-1);
        if (last?.fd === fd) last.text += text;
        else this.chunks.push({ fd, text });
        return true;
      },
    } as unknown as NodeJS.WritableStream;
  }

  flush(): void {
    for (const { fd, text } of this.chunks.splice(0)) this.writeAll(fd, text);
  }

  private writeAll(fd: Fd, text: string): void {
    if (this.closed.has(fd)) return;
    if (this.viaStream.has(fd)) {
      this.streamOf(fd).write(text);
      return;
    }
    const data = Buffer.from(text);
    let done = 0;
    while (done < data.length) {
      try {
        done += writeSync(fd, data, done);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') {
          this.closed.add(fd);
          return;
        }
        if (code !== 'EAGAIN') throw e;
        this.viaStream.add(fd);
        this.streamOf(fd).write(data.subarray(done));
        return;
      }
    }
  }
}

function processStream(fd: Fd): NodeJS.WritableStream {
  if (fd !== 1 && fd !== 2) throw new Error(`build-system: no process stream for descriptor ${fd}`);
  ignoreClosedOutput();
  return fd === 1 ? process.stdout : process.stderr;
}
