/**
 * Errors the relay raises about its own policy and resources, before or beside a sealed answer;
 * http-errors.ts maps each to its HTTP status. They extend the project's ShroudError
 * (src/protocol/errors.ts), so callers tell them from bugs the same way.
 */
import { ShroudError } from "../protocol/errors.js";

/** Federation policy does not allow this peer (as sender or next hop). */
export class PolicyError extends ShroudError {
  constructor(message = "not allowed") {
    super("policy", message);
  }
}

/**
 * The relay refuses work because a bounded resource is full (e.g. the embedded replay set): taking
 * the request would leave a replay undetectable or exhaust memory (HTTP 503).
 */
export class CapacityError extends ShroudError {
  constructor() {
    super("capacity", "relay at capacity");
  }
}

/** A client address sent more requests than the relay's per-address limit allows (HTTP 429). */
export class RateLimitError extends ShroudError {
  constructor() {
    super("rate_limit", "too many requests");
  }
}

/** A request arrived with the wrong Content-Type. */
export class MediaTypeError extends ShroudError {
  constructor() {
    super("media_type", "unsupported media type");
  }
}

/** A token issuance request that the operator's attester does not vouch for (HTTP 401). */
export class AttestationError extends ShroudError {
  constructor() {
    super("attestation", "not attested");
  }
}
