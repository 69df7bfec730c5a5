/** UTF-8 text as bytes and back, for readable payloads in tests. */

/** @example await client.deposit(card, text("hello")); */
export const text = (s: string) => new TextEncoder().encode(s);
/** @example expect(untext(message.payload)).toBe("hello"); */
export const untext = (b: Uint8Array) => new TextDecoder().decode(b);
