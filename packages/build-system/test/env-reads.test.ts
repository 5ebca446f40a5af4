import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { guardedEvaluation } from '../src/config/guarded-evaluation.js';
import { ensureEnvTracking, withEnvReads } from '../src/util/env-reads.js';

describe('env reads of code run on a package\'s behalf (util/env-reads.ts)', () => {
  it('notes what each scope reads, continuations included, apart from scopes running at the same time', async () => {
    const a = new Set<string>();
    const b = new Set<string>();
    await Promise.all([
      withEnvReads(a, async () => {
        await delay(20);
        void process.env.BS_ENV_READS_A;
      }),
      withEnvReads(b, async () => {
        void process.env.BS_ENV_READS_B;
        await delay(5);
        void ('BS_ENV_READS_B2' in process.env);
      }),
    ]);
    void process.env.BS_ENV_READS_OUTSIDE;
    expect([...a]).toEqual(['BS_ENV_READS_A']);
    expect([...b].sort()).toEqual(['BS_ENV_READS_B', 'BS_ENV_READS_B2']);
  });

  it('passes writes and deletes through to the real environment, as child processes see it', async () => {
    ensureEnvTracking();
    process.env.BS_ENV_READS_SET = 'one';
    process.env.BS_ENV_READS_SET = 'two';
    expect(process.env.BS_ENV_READS_SET).toBe('two');
    const listed = new Set<string>();
    withEnvReads(listed, () => ({ ...process.env }));
    expect(listed.has('BS_ENV_READS_SET')).toBe(true);
    delete process.env.BS_ENV_READS_SET;
    expect('BS_ENV_READS_SET' in process.env).toBe(false);
  });

  it('keeps tracking across a config evaluation, which swaps in its own proxy and puts back the one it found', async () => {
    ensureEnvTracking();
    const before = process.env;
    await guardedEvaluation(async () => void process.env.BS_ENV_READS_CONFIG, { env: new Set(), refused: null, late() {} });
    expect(process.env).toBe(before);
    const sink = new Set<string>();
    withEnvReads(sink, () => void process.env.BS_ENV_READS_AFTER);
    expect([...sink]).toEqual(['BS_ENV_READS_AFTER']);
  });
});
