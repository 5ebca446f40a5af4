import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OrderedOutput } from '../src/cli/ordered-output.js';

/**
 * The replayed no-op writes its output with fs.writeSync (src/cli/ordered-output.ts). A real FIFO
 * stands in for a pipe whose reader is slow (its buffer full: EAGAIN) or gone (EPIPE).
 */
const dir = mkdtempSync(path.join(tmpdir(), 'bs-ordered-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fifo(name: string): string {
  const p = path.join(dir, name);
  const made = spawnSync('mkfifo', [p]);
  expect(made.status).toBe(0);
  return p;
}

/** A stream that keeps what is written to it. */
function recorder(): { stream: NodeJS.WritableStream; text: () => string } {
  const parts: Buffer[] = [];
  const stream = { write: (chunk: string | Uint8Array) => (parts.push(Buffer.from(chunk)), true) } as unknown as NodeJS.WritableStream;
  return { stream, text: () => Buffer.concat(parts).toString() };
}

function drain(fd: number): string {
  const parts: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw e;
    }
    if (n === 0) break;
    parts.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(parts).toString();
}

describe.runIf(process.platform !== 'win32')('OrderedOutput', () => {
  it('a descriptor that would block gets what it took, the rest and every later write go through its stream, in order', () => {
    // Read-write and non-blocking: no reader is needed to open it, and a full buffer is EAGAIN.
    const fd = openSync(fifo('slow'), constants.O_RDWR | constants.O_NONBLOCK);
    try {
      const rest = recorder();
      const out = new OrderedOutput(() => rest.stream);
      const text = Array.from({ length: 20_000 }, (_, i) => `line ${i}\n`).join('');
      out.stream(fd).write(text);
      out.flush();
      const taken = drain(fd);
      expect(taken.length).toBeGreaterThan(0);
      expect(rest.text().length).toBeGreaterThan(0);
      expect(taken + rest.text()).toBe(text);
      out.stream(fd).write('after\n');
      out.flush();
      expect(drain(fd)).toBe('');
      expect(rest.text().endsWith('line 19999\nafter\n')).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it('a descriptor whose reader has gone (EPIPE) gets nothing more and throws nothing', () => {
    const p = fifo('gone');
    const reader = openSync(p, constants.O_RDONLY | constants.O_NONBLOCK);
    const fd = openSync(p, constants.O_WRONLY | constants.O_NONBLOCK);
    closeSync(reader);
    try {
      const rest = recorder();
      const out = new OrderedOutput(() => rest.stream);
      out.stream(fd).write('one\n');
      out.flush();
      out.stream(fd).write('two\n');
      out.flush();
      expect(rest.text()).toBe('');
    } finally {
      closeSync(fd);
    }
  });

  it('chunks for two descriptors keep their order, one write per run of one descriptor', () => {
    const a = openSync(fifo('a'), constants.O_RDWR | constants.O_NONBLOCK);
    const b = openSync(fifo('b'), constants.O_RDWR | constants.O_NONBLOCK);
    try {
      const out = new OrderedOutput();
      out.stream(a).write('1');
      out.stream(a).write('2');
      out.stream(b).write('x');
      out.stream(a).write('3');
      expect(drain(a)).toBe('');
      out.flush();
      expect(drain(a)).toBe('123');
      expect(drain(b)).toBe('x');
    } finally {
      closeSync(a);
      closeSync(b);
    }
  });
});
