/**
 * The relay descriptor served at GET /.well-known/shroud, signed with the relay's Ed25519 key.
 *
 *   struct {
 *     opaque key_config<V>;     // RFC 9458 KeyConfig
 *     uint64 not_before;        // unix seconds
 *     uint64 not_after;         // unix seconds; clients stop using the key after this
 *   } PublishedKey;
 *
 *   struct {
 *     uint8 version = 2;        // the Shroud protocol version the relay speaks
 *     opaque origin<V>;         // e.g. "https://relay.example"
 *     opaque signing_key[32];   // Ed25519 public key
 *     PublishedKey keys<V>;
 *     uint32 buckets<V>;        // padding bucket sizes, ascending
 *     uint32 round_interval_ms;
 *     uint64 issued_at;         // unix seconds
 *     uint64 expires_at;        // unix seconds
 *     optional<TokenPolicy> tokens;  // only on relays that issue or take Privacy Pass tokens
 *   } DescriptorBody;
 *
 *   struct {
 *     opaque public_key<V>;     // RFC 9578 issuer key (SPKI): see token-key.ts
 *     uint64 not_after;         // unix seconds; its tokens are refused from then on
 *   } IssuerKey;
 *
 *   enum { off(0), always(1), allowance(2), (255) } TokenRequirement;
 *
 *   struct {
 *     IssuerKey issuer_keys<V>; // this relay's own, when it issues (its origin is the issuer name)
 *     opaque accepted_issuers<V>;  // a vector of issuer origins (UTF-8) whose tokens it takes
 *     TokenRequirement requirement; // when deposits and forwards must carry a token
 *   } TokenPolicy;
 *
 * `tokens` is written as a trailing field when present (a 1 byte, then the struct) and nothing
 * at all when absent, so a relay without tokens signs the same bytes as before it existed.
 *
 *   struct {
 *     opaque body<V>;           // an encoded DescriptorBody
 *     opaque signature[64];     // Ed25519 over "shroud/v1 descriptor" || 0x00 || body
 *   } SignedDescriptor;
 */
import { constantTimeEqual, fromUtf8, utf8 } from "./bytes.js";
import {
  decode,
  encode,
  enumeration,
  fixedBytes,
  opaque,
  struct,
  uint32,
  uint64,
  uint8,
  utf8String,
  vector,
  type Codec,
} from "./codec.js";
import { DecodeError, DescriptorError } from "./errors.js";
import { keyConfigCodec, type KeyConfig } from "./key-config.js";
import { Labels } from "./labels.js";
import { signBody, signedBodyCodec, verifyBody } from "./signed-body.js";

/** The protocol version: 2 since inbox ids commit to their write token (see inbox-id.ts). */
export const DESCRIPTOR_VERSION = 2;
/** Clock skew tolerated when checking issued_at. */
const SKEW_SECONDS = 300;

/** One of the relay's HPKE keys as its descriptor publishes it, with when it may be used. */
export interface PublishedKey {
  config: KeyConfig;
  notBefore: number;
  notAfter: number;
}

/** An issuer key a relay publishes: tokens under it are good until `notAfter` (unix seconds). */
export interface PublishedIssuerKey {
  publicKey: Uint8Array;
  notAfter: number;
}

/** When a relay wants a Privacy Pass token with a deposit or forward (see TokenConfig). */
export const TokenRequirement = { off: 0, always: 1, allowance: 2 } as const;
/** One of TokenRequirement's values. */
export type TokenRequirement = (typeof TokenRequirement)[keyof typeof TokenRequirement];

/** What a relay says about Privacy Pass tokens: its issuer keys, whose tokens it takes, when. */
export interface TokenPolicy {
  issuerKeys: PublishedIssuerKey[];
  acceptedIssuers: string[];
  requirement: TokenRequirement;
}

/** What a relay says about itself in its signed descriptor (GET /.well-known/shroud). */
export interface Descriptor {
  origin: string;
  signingKey: Uint8Array;
  keys: PublishedKey[];
  buckets: number[];
  roundIntervalMs: number;
  issuedAt: number;
  expiresAt: number;
  tokens?: TokenPolicy;
}

const publishedKeyCodec: Codec<PublishedKey> = {
  size: (k) => opaque().size(encode(keyConfigCodec, k.config)) + 16,
  write(k, w) {
    opaque().write(encode(keyConfigCodec, k.config), w);
    uint64.write(k.notBefore, w);
    uint64.write(k.notAfter, w);
  },
  read(r) {
    const config = decode(keyConfigCodec, opaque().read(r));
    return { config, notBefore: uint64.read(r), notAfter: uint64.read(r) };
  },
};

const bodyFields = struct({
  version: uint8,
  origin: opaque(2048),
  signingKey: fixedBytes(32),
  keys: vector(publishedKeyCodec, 256),
  buckets: vector(uint32, 64),
  roundIntervalMs: uint32,
  issuedAt: uint64,
  expiresAt: uint64,
});

const tokenPolicyCodec: Codec<TokenPolicy> = struct({
  issuerKeys: vector(struct({ publicKey: opaque(4096), notAfter: uint64 }), 64),
  acceptedIssuers: vector(utf8String(2048), 256),
  requirement: enumeration(uint8, TokenRequirement),
});

/** Codec of DescriptorBody. */
export const descriptorBodyCodec: Codec<Descriptor> = {
  size: (d) =>
    bodyFields.size({ ...d, version: DESCRIPTOR_VERSION, origin: utf8(d.origin) }) +
    (d.tokens ? 1 + tokenPolicyCodec.size(d.tokens) : 0),
  write(d, w) {
    bodyFields.write({ ...d, version: DESCRIPTOR_VERSION, origin: utf8(d.origin) }, w);
    if (d.tokens) {
      uint8.write(1, w);
      tokenPolicyCodec.write(d.tokens, w);
    }
  },
  read(r) {
    const { version, origin, ...rest } = bodyFields.read(r);
    if (version !== DESCRIPTOR_VERSION) throw new DecodeError("unsupported descriptor version");
    let originText: string;
    try {
      originText = fromUtf8(origin);
    } catch {
      throw new DecodeError("origin is not UTF-8");
    }
    const descriptor: Descriptor = { ...rest, origin: originText };
    if (r.remaining > 0) {
      if (uint8.read(r) !== 1) throw new DecodeError("malformed descriptor");
      descriptor.tokens = tokenPolicyCodec.read(r);
    }
    return descriptor;
  },
};

/**
 * Encodes and signs a descriptor with the relay's Ed25519 private key.
 *
 * @example const bytes = await signDescriptor(descriptor, signingKeyPair.privateKey);
 */
export async function signDescriptor(
  descriptor: Descriptor,
  privateKey: CryptoKey,
): Promise<Uint8Array> {
  return signBody(Labels.descriptor, encode(descriptorBodyCodec, descriptor), privateKey);
}

export interface VerifyOptions {
  /** The origin the descriptor was fetched from; must match the one it names. */
  origin: string;
  /** Current time in milliseconds. */
  now: number;
  /** If given, the descriptor's signing key must be exactly this one. */
  pinnedSigningKey?: Uint8Array;
}

/** Normalises an origin string (scheme://host[:port]) for comparison. */
export function normalizeOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new DescriptorError("invalid origin");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new DescriptorError("origin must be http or https");
  }
  return url.origin;
}

/**
 * Decodes and verifies a signed descriptor: signature, origin, freshness and optional pin.
 * Any failure raises DescriptorError (malformed bytes raise DecodeError).
 */
export async function verifyDescriptor(
  bytes: Uint8Array,
  options: VerifyOptions,
): Promise<Descriptor> {
  const { body, signature } = decode(signedBodyCodec, bytes);
  // A relay of another protocol version would not open this client's requests (nor it its
  // answers): say so, rather than "malformed".
  if (body.length > 0 && body[0] !== DESCRIPTOR_VERSION) {
    throw new DescriptorError(
      `the relay speaks Shroud protocol version ${body[0]}, this software version ${DESCRIPTOR_VERSION}`,
    );
  }
  const descriptor = decode(descriptorBodyCodec, body);
  let valid: boolean;
  try {
    valid = await verifyBody(Labels.descriptor, body, signature, descriptor.signingKey);
  } catch {
    throw new DescriptorError("invalid signing key");
  }
  if (!valid) throw new DescriptorError("bad descriptor signature");
  if (
    options.pinnedSigningKey &&
    !constantTimeEqual(options.pinnedSigningKey, descriptor.signingKey)
  ) {
    throw new DescriptorError("descriptor signed by an unexpected key");
  }
  if (normalizeOrigin(descriptor.origin) !== normalizeOrigin(options.origin)) {
    throw new DescriptorError("descriptor is for another origin");
  }
  const nowSeconds = Math.floor(options.now / 1000);
  if (descriptor.issuedAt > nowSeconds + SKEW_SECONDS) {
    throw new DescriptorError("descriptor issued in the future");
  }
  // Same boundary as a key's not_after: valid strictly before, expired from that second on.
  if (descriptor.expiresAt <= nowSeconds) throw new DescriptorError("descriptor expired");
  return descriptor;
}

/** Keys of a descriptor that are valid at `now` (ms), newest first. */
export function usableKeys(descriptor: Descriptor, now: number): PublishedKey[] {
  const seconds = Math.floor(now / 1000);
  return descriptor.keys
    .filter((k) => k.notBefore <= seconds + SKEW_SECONDS && k.notAfter > seconds)
    .sort((a, b) => b.notBefore - a.notBefore);
}
