/**
 * Whether `v` is a plain object (an object literal, or one made with a null prototype). Its own
 * module, free of zod: config evaluation needs it on the path that must not load the schema.
 */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}
