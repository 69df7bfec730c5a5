/**
 * Shroud's error hierarchy. Every failure the project raises on purpose is a ShroudError, so
 * callers can tell "bad input" from bugs. Messages are fixed strings: they never carry input
 * bytes, inbox ids or sizes, because errors end up in logs and HTTP bodies.
 *
 * This module holds the base class and the errors of the wire format and its cryptography;
 * the relay's own (src/relay/errors.ts) and the client's (src/client/errors.ts) extend the same
 * base. Relay errors are kept apart from the status codes carried inside a sealed response (see
 * relay-status.ts): the former are what the HTTP layer sees before an envelope opens, the latter
 * are only visible to the client that holds the response key.
 */
export class ShroudError extends Error {
  /** Stable machine-readable code, e.g. "decode". */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Input bytes do not follow the wire format (truncated, trailing bytes, bad enum, too long). */
export class DecodeError extends ShroudError {
  constructor(message = "malformed input") {
    super("decode", message);
  }
}

/** An AEAD open, signature check or key import failed. */
export class CryptoError extends ShroudError {
  constructor(message = "cryptographic check failed", options?: { cause?: unknown }) {
    super("crypto", message, options);
  }
}

/** A sealed request names a key id the relay does not hold (HTTP 422). */
export class UnknownKeyError extends ShroudError {
  constructor() {
    super("unknown_key", "unknown key id");
  }
}

/** Content does not fit the largest padding bucket, or a body exceeds the limit. */
export class TooLargeError extends ShroudError {
  constructor(message = "too large") {
    super("too_large", message);
  }
}

/** An envelope whose encapsulated key was already opened under the same key. */
export class ReplayError extends ShroudError {
  constructor() {
    super("replay", "replayed request");
  }
}

/** A relay descriptor failed verification (signature, origin, expiry or pin). */
export class DescriptorError extends ShroudError {
  constructor(message: string) {
    super("descriptor", message);
  }
}

/** Invalid configuration or arguments given by an operator or a caller. */
export class ConfigError extends ShroudError {
  constructor(message: string) {
    super("config", message);
  }
}

/** The relay could not be reached or answered outside the protocol. */
export class TransportError extends ShroudError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("transport", message, options);
  }
}
