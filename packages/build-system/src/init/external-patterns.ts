/**
 * A tsup `external` / tsdown `external` or `deps.neverBundle` value as the
 * config's `external`: names and `name/*` prefixes (what every adapter
 * takes). A regular expression that only anchors a literal is one of those:
 * `/^@kubb\//` is `@kubb/*`, `/^lodash$/` is `lodash`, `/^lodash(\/|$)/` is
 * both. Anything else (a function, a pattern with alternatives or classes)
 * has no equivalent and is returned apart, to be reported.
 */
export function externalPatterns(value: unknown): { names: string[]; other: unknown[] } {
  const list = Array.isArray(value) ? value : [value];
  const names: string[] = [];
  const other: unknown[] = [];
  for (const item of list) {
    if (typeof item === 'string') names.push(item);
    else if (item instanceof RegExp && !item.flags.includes('i')) {
      const fromRegex = regexNames(item.source);
      if (fromRegex) names.push(...fromRegex);
      else other.push(item);
    } else other.push(item);
  }
  return { names: [...new Set(names)], other };
}

/** `^` + an escaped literal + one of `$`, `/`, `(/|$)`, `(?:/|$)`; else undefined. */
function regexNames(source: string): string[] | undefined {
  const m = /^\^((?:\\[/.@\-_]|[A-Za-z0-9@\-_.]|\\\/)+?)(\$|\\\/|\((?:\?:)?\\\/\|\$\))$/.exec(source);
  if (!m) return undefined;
  const literal = m[1]!.replace(/\\(.)/g, '$1');
  // An unescaped '.' matches any character: not a literal.
  if (/(^|[^\\])\./.test(m[1]!.replace(/\\\./g, ''))) return undefined;
  if (m[2] === '$') return [literal];
  if (m[2] === '\\/') return [`${literal}/*`];
  return [literal, `${literal}/*`];
}
