/**
 * The client SDK, what `import ... from "shroud"` gives an app: a client for one relay, inboxes
 * and contact cards, traffic shaping, MLS groups and the errors they raise. Everything here runs
 * on Web APIs only (fetch, WebCrypto), in browsers as on Node; the relay is in `shroud/relay`,
 * serving it on Node in `shroud/node`. A guide with examples: docs/SDK.md.
 *
 * @example
 * import { contactCard, createInbox, RelayClient } from "shroud";
 *
 * const client = await RelayClient.connect("https://relay.example");
 * const inbox = await createInbox(client.origin, client.descriptor.signingKey);
 * await client.deposit(contactCard(inbox), new TextEncoder().encode("hello"));
 *
 * @module shroud
 */
export {
  RelayClient,
  type AckResult,
  type DepositOptions,
  type DepositResult,
  type DepositTarget,
  type FailureName,
  type FetchResult,
  type InboxMessage,
  type ItemsResult,
  type LoopStats,
  type ReadCapability,
  type RelayClientOptions,
  type StatusName,
} from "./client/relay-client.js";
export {
  cardFromJson,
  cardToJson,
  contactCard,
  createInbox,
  inboxFromJson,
  inboxToJson,
  type ContactCard,
  type Inbox,
} from "./client/inbox.js";
export { ingressRouter } from "./client/ingress-router.js";
export {
  ShapingProfiles,
  type ShapingProfile,
  type ShapingProfileName,
} from "./client/shaping-profile.js";
export type { ShaperStats } from "./client/traffic-shaper.js";
export {
  GroupSession,
  type ChangeOutcome,
  type GroupChange,
  type GroupDeps,
  type GroupEvent,
} from "./client/mls/group-session.js";
export { Member, type KeyPackageRecord } from "./client/mls/member.js";
export { acceptInvitations, type InvitationsResult } from "./client/mls/accept-invitations.js";
export type { GroupInvitation } from "./client/mls/group-invitation.js";
export type { WelcomeBlob } from "./client/mls/welcome-blob.js";
export { GroupError, TokenUnavailableError } from "./client/errors.js";
export {
  TokenWallet,
  type RefillSchedule,
  type TokenWalletOptions,
} from "./client/token-wallet.js";
export {
  ConfigError,
  CryptoError,
  DecodeError,
  DescriptorError,
  ShroudError,
  TooLargeError,
  TransportError,
} from "./protocol/errors.js";
export { SecretBytes } from "./protocol/secret-bytes.js";
export {
  TokenRequirement,
  type Descriptor,
  type PublishedIssuerKey,
  type PublishedKey,
  type TokenPolicy,
} from "./protocol/descriptor.js";
export { PaddingPolicy } from "./protocol/padding-policy.js";
