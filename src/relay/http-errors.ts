import {
  CryptoError,
  DecodeError,
  DescriptorError,
  TransportError,
  ReplayError,
  TooLargeError,
  UnknownKeyError,
} from "../protocol/errors.js";
import {
  AttestationError,
  CapacityError,
  MediaTypeError,
  PolicyError,
  RateLimitError,
} from "./errors.js";

/** An HTTP answer for an envelope that never opened: a status and a fixed, opaque body. */
export interface HttpFailure {
  status: 400 | 401 | 403 | 413 | 415 | 422 | 429 | 500 | 503;
  body: string;
}

/**
 * The one mapping from errors to HTTP. Bodies are fixed strings: they say which class of
 * problem occurred and nothing about the input. Anything unexpected is a 500.
 */
export function httpFailureFor(error: unknown): HttpFailure {
  if (error instanceof UnknownKeyError) return { status: 422, body: "unknown key" };
  if (error instanceof TooLargeError) return { status: 413, body: "too large" };
  if (
    error instanceof DecodeError ||
    error instanceof CryptoError ||
    error instanceof ReplayError
  ) {
    return { status: 400, body: "bad request" };
  }
  if (error instanceof PolicyError) return { status: 403, body: "forbidden" };
  if (error instanceof AttestationError) return { status: 401, body: "unauthorized" };
  if (error instanceof RateLimitError) return { status: 429, body: "too many requests" };
  // A full bounded resource (the embedded replay set): the client should retry later.
  if (error instanceof CapacityError) return { status: 503, body: "unavailable" };
  // A peer's descriptor could not be had: the sender should retry later.
  if (error instanceof TransportError || error instanceof DescriptorError) {
    return { status: 503, body: "unavailable" };
  }
  if (error instanceof MediaTypeError) {
    return { status: 415, body: "unsupported media type" };
  }
  return { status: 500, body: "internal error" };
}
