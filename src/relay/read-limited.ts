import { concat } from "../protocol/bytes.js";

/**
 * Reads a peer's answer body, at most `max` bytes; undefined when it is longer (the rest is
 * never read, so a peer cannot make this relay buffer without bound).
 */
export async function readLimited(
  response: Response,
  max: number,
): Promise<Uint8Array | undefined> {
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    parts.push(value);
  }
  return concat(...parts);
}
