/**
 * Durable Object SQLite hands BLOB columns back as ArrayBuffer; the relay speaks Uint8Array.
 *
 * @example bytesOf(row.item) // Uint8Array over the same bytes
 */
export function bytesOf(value: ArrayBuffer | Uint8Array): Uint8Array {
  return value instanceof Uint8Array ? value : new Uint8Array(value);
}
