export interface ParsedItem {
  sku: string;
  quantity: number;
  amount: number;
}

/** Parses `sku:quantity@amount` arguments. */
export function parseItem(arg: string): ParsedItem {
  const m = /^([\w-]+):(\d+)@(\d+(?:\.\d+)?)$/.exec(arg);
  if (!m) throw new Error(`expected sku:quantity@amount, got ${JSON.stringify(arg)}`);
  return { sku: m[1]!, quantity: Number(m[2]), amount: Number(m[3]) };
}
