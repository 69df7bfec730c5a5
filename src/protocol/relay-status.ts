/**
 * Outcome codes carried inside a sealed response. Only the client that holds the response key
 * sees them; on the wire every outcome looks the same (HTTP 200, one bucket).
 */
import { enumName } from "./enum-name.js";

export const RelayStatus = {
  /** fetch, ack or cover succeeded. */
  ok: 0,
  /** The deposit is in the current round (or was already, for a retried message id). */
  accepted: 1,
  // 2 was `conflict` (protocol v1's commit slot); it is not used again.
  /** Federation policy does not let this relay talk to the named relay. */
  forbidden: 3,
  /** The inbox is at its item or byte quota, or the relay's store is full. */
  quota: 4,
  /** No inbox for this read secret. */
  not_found: 5,
  /** The payload does not fit the relay's largest padding bucket. */
  too_large: 6,
  /** The request opened but its contents are malformed. */
  bad_request: 7,
  /** A flag or request kind this relay does not implement. */
  unsupported: 8,
  /** The relay failed; the request may be retried. */
  internal: 9,
  /** The next hop (proxy, peer descriptor) could not be reached in time. */
  unavailable: 10,
  /** The relay's policy wants a Privacy Pass token with this deposit or forward (descriptor). */
  token_required: 11,
  /** The token was spent before, is under an unknown or expired key, or does not verify. */
  token_refused: 12,
} as const;
export type RelayStatus = (typeof RelayStatus)[keyof typeof RelayStatus];

/** Name of a status code, for messages and metrics. */
export function relayStatusName(status: RelayStatus): keyof typeof RelayStatus {
  return enumName(RelayStatus, status);
}
