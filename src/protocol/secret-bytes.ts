/**
 * Secret key material that must not leak through logging or serialisation: toString, toJSON and
 * Node's inspect all print a placeholder. Reading the bytes takes an explicit `expose()`.
 *
 * @example
 * const token = SecretBytes.random(32);
 * JSON.stringify({ token }); // '{"token":"[secret]"}'
 */
export class SecretBytes {
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes.slice();
  }

  static random(length: number): SecretBytes {
    const bytes = new Uint8Array(length);
    crypto.getRandomValues(bytes);
    return new SecretBytes(bytes);
  }

  get length(): number {
    return this.#bytes.length;
  }

  /** The secret bytes themselves; callers must not log or persist them casually. */
  expose(): Uint8Array {
    return this.#bytes;
  }

  toString(): string {
    return "[secret]";
  }

  toJSON(): string {
    return "[secret]";
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "[secret]";
  }
}
