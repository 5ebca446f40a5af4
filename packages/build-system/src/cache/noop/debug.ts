/** BUILD_SYSTEM_DEBUG_NOOP=1 prints why a run was not recorded or replayed (tests, and people wondering). */
export const DEBUG_NOOP_ENV = 'BUILD_SYSTEM_DEBUG_NOOP';

export function debugNoop(message: string): void {
  if (process.env[DEBUG_NOOP_ENV] === '1') process.stderr.write(`build-system: no-op record: ${message}\n`);
}
