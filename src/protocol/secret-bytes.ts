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

  /** `length` bytes from `crypto.getRandomValues`. */
  static random(length: number): SecretBytes {
    const bytes = new Uint8Array(length);
    crypto.getRandomValues(bytes);
    return new SecretBytes(bytes);
  }

  /** How many bytes the secret has (not secret itself). */
  get length(): number {
    return this.#bytes.length;
  }

  /** The secret bytes themselves; callers must not log or persist them casually. */
  expose(): Uint8Array {
    return this.#bytes;
  }

  /** A placeholder, never the bytes. */
  toString(): string {
    return "[secret]";
  }

  /** A placeholder, never the bytes: JSON.stringify cannot leak a secret. */
  toJSON(): string {
    return "[secret]";
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "[secret]";
  }
}
