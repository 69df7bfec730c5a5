/**
 * Every domain-separation label Shroud uses, in one place. Each names the protocol and its
 * version so a value made for one purpose or version can never be taken for another.
 */
export const Labels = {
  /**
   * HPKE info prefix of a sealed request (RFC 9458 uses "message/bhttp request"). Version 2:
   * a request of another version does not open, so it can never be read under the wrong layout.
   */
  request: "shroud/v2 request",
  /** Exporter label for a sealed response key (RFC 9458 uses "message/bhttp response"). */
  response: "shroud/v2 response",
  /** read_id = SHA-256(label || 0x00 || read_secret): what senders name an inbox by. */
  readId: "shroud/v2 read id",
  /** token_hash = SHA-256(label || 0x00 || write_token). */
  writeToken: "shroud/v2 write token",
  /** inbox_id = SHA-256(label || 0x00 || read_id || token_hash). */
  inboxId: "shroud/v2 inbox id",
  /** Prefix of the bytes a relay descriptor signature covers. */
  descriptor: "shroud/v1 descriptor",
  /** AES-GCM associated data of a key ring encrypted at rest (Redis and Durable Object key stores). */
  keyRingAtRest: "shroud/v1 key ring",
  /** Prefix of the bytes a federation batch signature covers. */
  federationBatch: "shroud/v1 federation batch",
  /** HPKE info for a payload sealed to an inbox's public key. */
  inboxPayload: "shroud/v1 inbox payload",
  /** HPKE info for one fragment of a message too large for one deposit, sealed to an inbox. */
  inboxFragment: "shroud/v1 inbox fragment",
  /** HPKE info for drop cover: a shaping client's deposit its contact's reader discards. */
  inboxDrop: "shroud/v1 inbox drop",
  /** Prefix of the bytes hashed to name a fragment's deposit (its message id for the relay). */
  fragmentDepositId: "shroud/v1 fragment deposit id",
  /** MLS exporter label of an epoch's group inbox read secret. */
  groupReadSecret: "shroud/v1 group read secret",
  /** MLS exporter label of an epoch's group inbox write token. */
  groupWriteToken: "shroud/v1 group write token",
  /** MLS exporter label of an epoch's group payload key (AES-256-GCM). */
  groupPayloadKey: "shroud/v1 group payload key",
  /** AES-GCM associated data prefix of a payload sealed under a group payload key. */
  groupPayload: "shroud/v1 group payload",
  /** AES-GCM associated data prefix of one fragment sealed under a group payload key. */
  groupFragment: "shroud/v1 group fragment",
  /** Prefix of the bytes hashed to name a key package in an invitation. */
  keyPackageHash: "shroud/v1 key package",
  /** SHA-256(label || 0x00 || enc): the mark of a forwarded envelope that spent its token. */
  tokenCarrier: "shroud/v1 token carrier",
} as const;
export type Labels = (typeof Labels)[keyof typeof Labels];

/** HTTP media types of the relay's endpoints. */
export const MediaTypes = {
  request: "application/shroud-request",
  response: "application/shroud-response",
  descriptor: "application/shroud-descriptor",
  /** A signed federation batch (POST /v1/federation). */
  federationBatch: "application/shroud-batch",
  /** RFC 9458 §3.2 key configuration list. */
  ohttpKeys: "application/ohttp-keys",
  /** A BatchTokenRequest (POST /v1/tokens; private-token.ts). */
  tokenRequest: "application/shroud-token-request",
  /** A BatchTokenResponse. */
  tokenResponse: "application/shroud-token-response",
} as const;
export type MediaTypes = (typeof MediaTypes)[keyof typeof MediaTypes];
