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
