/**
 * The one MLS ciphersuite Shroud groups use, and the ts-mls client configuration every state is
 * re-attached to after loading (ts-mls does not serialise it).
 */
import {
  defaultAuthenticationService,
  defaultKeyPackageEqualityConfig,
  defaultKeyRetentionConfig,
  defaultLifetimeConfig,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  type CiphersuiteImpl,
  type ClientConfig,
} from "ts-mls";

export const MLS_CIPHERSUITE = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519" as const;

let suite: Promise<CiphersuiteImpl> | undefined;

/** The ciphersuite implementation, loaded once. */
export function mlsSuite(): Promise<CiphersuiteImpl> {
  suite ??= getCiphersuiteImpl(getCiphersuiteFromName(MLS_CIPHERSUITE));
  return suite;
}

/**
 * How many past epochs' keys a member keeps, so messages sent just before a commit still open;
 * a member fetches an old epoch's inbox for as long as it keeps that epoch's keys.
 */
export const RETAINED_EPOCHS = defaultKeyRetentionConfig.retainKeysForEpochs;

/**
 * ts-mls defaults, except padding: Shroud pads every payload to a bucket itself, so MLS-level
 * padding would only cost bytes. defaultAuthenticationService accepts any credential: a
 * member's name is what its inviter's contact card said.
 */
export const mlsClientConfig: ClientConfig = {
  keyRetentionConfig: defaultKeyRetentionConfig,
  lifetimeConfig: defaultLifetimeConfig,
  keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
  paddingConfig: { kind: "alwaysPad", paddingLength: 0 },
  authService: defaultAuthenticationService,
};
