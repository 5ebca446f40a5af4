import { readFile } from 'node:fs/promises';
import { nodeCrypto } from './lazy-crypto.js';

export function sha256(data: string | Uint8Array): string {
  return nodeCrypto().createHash('sha256').update(data).digest('hex');
}

export async function sha256File(file: string): Promise<{ sha256: string; bytes: number }> {
  const data = await readFile(file);
  return { sha256: sha256(data), bytes: data.byteLength };
}
