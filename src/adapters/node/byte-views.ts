/**
 * The two conversions @hpke/core's interfaces need from the node:crypto primitives: a
 * Uint8Array view of whatever buffer type they are given (no copy), and an ArrayBuffer of
 * their own to return (a copy: node:crypto's Buffers may share a pooled ArrayBuffer).
 */

/** A view of `data`'s bytes without copying them. */
export function bytesOf(data: ArrayBufferLike | ArrayBufferView): Uint8Array {
  return ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);
}

/**
 * A fresh ArrayBuffer holding `parts` one after another.
 *
 * @example ownArrayBuffer(ciphertext, tag).byteLength // ciphertext.length + tag.length
 */
export function ownArrayBuffer(...parts: Uint8Array[]): ArrayBuffer {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out.buffer;
}
