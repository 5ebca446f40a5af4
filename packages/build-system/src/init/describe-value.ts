import { placeholderName } from './tool-config.js';

/** A tool option's value as a "not reproduced" line shows it: a placeholder's name, "a function", a regular expression, else short JSON. */
export function describe(value: unknown): string {
  const placeholder = placeholderName(value);
  if (placeholder) return placeholder;
  if (typeof value === 'function') return 'a function';
  if (value instanceof RegExp) return String(value);
  if (Array.isArray(value) && value.some((v) => placeholderName(v) || typeof v === 'function' || v instanceof RegExp)) {
    return `[${value.map(describe).join(', ')}]`;
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  if (json === undefined) return String(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}
