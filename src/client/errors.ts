/**
 * Errors of the client SDK beyond the wire format's (src/protocol/errors.ts): a group operation
 * that could not be done.
 */
import { ShroudError } from "../protocol/errors.js";

/**
 * An MLS group operation over Shroud failed on the client: not a member, a commit that could not
 * be placed, an invitation for a key package this member does not hold.
 */
export class GroupError extends ShroudError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("group", message, options);
  }
}

/**
 * A relay wants a Privacy Pass token this client cannot give: it has no wallet, its issuer is
 * not one the relay accepts, or the issuer refused to issue (not attested, allowance spent).
 */
export class TokenUnavailableError extends ShroudError {
  constructor(message: string) {
    super("token_unavailable", message);
  }
}
