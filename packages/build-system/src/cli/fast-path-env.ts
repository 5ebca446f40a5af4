/** BUILD_SYSTEM_NO_FAST_PATH=1 sends every invocation through Nest (main.ts, cli-start.ts): its own module so the CommonJS start bundle does not pull main.ts in. */
export const NO_FAST_PATH_ENV = 'BUILD_SYSTEM_NO_FAST_PATH';
