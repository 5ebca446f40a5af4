export const RESULT_SCHEMA_VERSION = 1 as const;
