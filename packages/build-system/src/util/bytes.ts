/**
 * The one byte formatter for everything the CLI prints (build lines, progress
 * table, cache and clean reports). Sizes are counted in powers of 1024, so the
 * units are the binary ones (KiB, MiB, GiB): a "kB" label on a 1024-byte step
 * would be off by 2.4%, and two formatters used to disagree on exactly that.
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
