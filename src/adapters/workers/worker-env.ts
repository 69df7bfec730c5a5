/**
 * The bindings and variables a Shroud Worker is given (wrangler.toml and `wrangler secret put`).
 * Durable Object namespaces hold state; the federation queue carries outbound batches.
 */
import type { ExpiryObject } from "./objects/expiry-object.js";
import type { FederationObject } from "./objects/federation-object.js";
import type { InboxObject } from "./objects/inbox-object.js";
import type { KeyRingObject } from "./objects/key-ring-object.js";
import type { MetricsObject } from "./objects/metrics-object.js";
import type { ReplayObject } from "./objects/replay-object.js";
import type { RoundObjectApi } from "./objects/round-object-api.js";

/** What a federation queue message carries: which relay's queue, and which batch. */
export interface FederationMessage {
  /** The instance name (SHROUD_INSTANCE) of the relay that queued it. */
  ns: string;
  /** The batch id (32 hex digits); the batch itself waits in the federation object. */
  id: string;
}

/** Names of the outbound queue and its dead-letter queue, as wrangler.toml declares them. */
export const QueueNames = {
  outbound: "shroud-federation",
  deadLetter: "shroud-federation-dlq",
} as const;
export type QueueNames = (typeof QueueNames)[keyof typeof QueueNames];

export interface WorkerEnv {
  INBOXES: DurableObjectNamespace<InboxObject>;
  ROUNDS: DurableObjectNamespace<RoundObjectApi>;
  REPLAY: DurableObjectNamespace<ReplayObject>;
  EXPIRY: DurableObjectNamespace<ExpiryObject>;
  KEYRING: DurableObjectNamespace<KeyRingObject>;
  METRICS: DurableObjectNamespace<MetricsObject>;
  FEDERATION: DurableObjectNamespace<FederationObject>;
  FEDERATION_QUEUE: Queue<FederationMessage>;
  /** Public origin of the relay (required), e.g. "https://relay.example". */
  SHROUD_ORIGIN?: string;
  /** Round length in ms (default 1000; 0 closes a round after every deposit). */
  SHROUD_ROUND_MS?: string;
  /** "allowlist" (default) or "open". */
  SHROUD_FEDERATION?: string;
  /** Comma-separated peer origins. */
  SHROUD_PEERS?: string;
  /** Batches every link carries each round, idle or busy (default 1). */
  SHROUD_BATCHES_PER_ROUND?: string;
  /** Under "open": ms a link to a relay that is not a peer keeps its batches (default 600000). */
  SHROUD_DYNAMIC_LINK_MS?: string;
  /** "round" (default) or "immediate": when clients' proxied requests leave and are answered. */
  SHROUD_INGRESS_RELEASE?: string;
  /** "*" (default), "none" or comma-separated origins whose pages may use the relay. */
  SHROUD_CORS_ORIGINS?: string;
  /**
   * Privacy Pass: when deposits and forwards must carry a token, "off" (default), "always" or
   * "allowance". A Worker relay redeems tokens but issues none, so "always" and "allowance"
   * need SHROUD_TOKEN_ACCEPT.
   */
  SHROUD_TOKENS?: string;
  /**
   * Under "allowance": tokenless deposits and forwards let through each minute before a token
   * is asked for (default 600). Counted by each isolate on its own, not across the relay.
   */
  SHROUD_TOKEN_FREE_PER_MINUTE?: string;
  /**
   * Comma-separated origins of the issuers whose tokens this relay takes (e.g. a Node relay of
   * the same provider); their keys come from each issuer's signed descriptor.
   */
  SHROUD_TOKEN_ACCEPT?: string;
  /** Names this relay's Durable Objects (default "shroud"): several relays may share a Worker. */
  SHROUD_INSTANCE?: string;
  /** Secret: 32 random bytes, base64 or base64url; encrypts the key ring at rest. */
  SHROUD_MASTER_KEY?: string;
  /** Secret: a bearer token for the operator routes under /v1/admin (unset: they answer 404). */
  SHROUD_ADMIN_TOKEN?: string;
}
