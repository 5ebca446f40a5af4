import { createRequire } from 'node:module';

type NodeCrypto = typeof import('node:crypto');

let loaded: NodeCrypto | undefined;

/**
 * node:crypto, loaded on first use. Why: loading it costs ~3 ms (it pulls in Node's streams), and a
 * replayed no-op (cli-start.cjs) rarely hashes anything: it needs crypto only for a file modified
 * within the racy window or an env var a config declared (research.md §8.q). Synchronous either way:
 * `process.getBuiltinModule` where Node has it (20.16+), else a require made for this purpose (any
 * absolute base path resolves a builtin).
 */
export function nodeCrypto(): NodeCrypto {
  if (loaded) return loaded;
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  loaded = (getBuiltin?.call(process, 'node:crypto') ?? createRequire(process.execPath)('node:crypto')) as NodeCrypto;
  return loaded;
}
