/**
 * Federation batches: what one relay sends another once per round over POST /v1/federation.
 * Every batch on a link has the same number of slots of the same size, real envelopes and
 * cover alike, so the link's volume says nothing about its traffic.
 *
 *   struct {
 *     uint8 hops;                   // relays the envelope has crossed so far (>= 1)
 *     uint32 length;                // envelope length, at most slot_capacity
 *     opaque envelope[length];      // a SealedRequest for the destination
 *     uint8 zero[slot_capacity - length];
 *   } Slot;                         // always 5 + slot_capacity bytes
 *
 *   struct {
 *     uint8 version = 1;
 *     opaque origin<V>;             // the sending relay
 *     opaque destination<V>;        // the receiving relay: a batch cannot be redirected
 *     opaque batch_id[16];          // receivers drop a batch id they have already accepted
 *     uint32 slot_capacity;
 *     opaque slots<V>;              // N slots back to back
 *   } BatchBody;
 *
 *   struct {
 *     opaque body<V>;               // an encoded BatchBody
 *     opaque signature[64];         // Ed25519 over "shroud/v1 federation batch" || 0x00 || body
 *   } SignedBatch;
 */
import { concat, randomBytes } from "./bytes.js";
import {
  decode,
  encode,
  fixedBytes,
  opaque,
  Reader,
  struct,
  uint32,
  uint8,
  utf8String,
  type Codec,
} from "./codec.js";
import { CryptoError, DecodeError } from "./errors.js";
import { Labels } from "./labels.js";
import { signBody, signedBodyCodec, verifyBody } from "./signed-body.js";

export const BATCH_VERSION = 1;
export const BATCH_ID_LENGTH = 16;
/** Bytes a slot adds to its capacity: the hop count and the length. */
export const SLOT_OVERHEAD = 5;
/** Largest slot capacity a batch may declare (the largest default bucket). */
export const MAX_SLOT_CAPACITY = 1024 * 1024;

export interface Slot {
  hops: number;
  envelope: Uint8Array;
}

export interface Batch {
  origin: string;
  destination: string;
  batchId: Uint8Array;
  slotCapacity: number;
  slots: Slot[];
}

/** Encodes one slot of exactly SLOT_OVERHEAD + capacity bytes. */
export function encodeSlot(slot: Slot, capacity: number): Uint8Array {
  if (slot.envelope.length > capacity) throw new RangeError("envelope larger than the slot");
  if (!Number.isInteger(slot.hops) || slot.hops < 1 || slot.hops > 255) {
    throw new RangeError("hops out of range");
  }
  const out = new Uint8Array(SLOT_OVERHEAD + capacity);
  const view = new DataView(out.buffer);
  view.setUint8(0, slot.hops);
  view.setUint32(1, slot.envelope.length);
  out.set(slot.envelope, SLOT_OVERHEAD);
  return out;
}

/** Decodes one slot, refusing a bad length or non-zero padding. */
export function decodeSlot(bytes: Uint8Array, capacity: number): Slot {
  if (bytes.length !== SLOT_OVERHEAD + capacity) throw new DecodeError("slot size mismatch");
  const reader = new Reader(bytes);
  const hops = reader.u8();
  const length = reader.u32();
  if (hops === 0) throw new DecodeError("slot hops must be at least 1");
  if (length > capacity) throw new DecodeError("slot length invalid");
  const envelope = reader.raw(length);
  let nonZero = 0;
  for (let i = SLOT_OVERHEAD + length; i < bytes.length; i++) nonZero |= bytes[i]!;
  if (nonZero !== 0) throw new DecodeError("slot padding not zero");
  return { hops, envelope };
}

/**
 * A cover slot: shaped like a real one (hop 1, an envelope of `length` bytes that starts with
 * the destination key's request header) but random, so it opens for no one.
 */
export function coverSlot(header: Uint8Array, length: number): Slot {
  return { hops: 1, envelope: concat(header, randomBytes(length - header.length)) };
}

const bodyFields = struct({
  version: uint8,
  origin: utf8String(2048),
  destination: utf8String(2048),
  batchId: fixedBytes(BATCH_ID_LENGTH),
  slotCapacity: uint32,
  slots: opaque(),
});

/** Codec of BatchBody. */
export const batchBodyCodec: Codec<Batch> = {
  size: (b) => bodyFields.size(toFields(b)),
  write: (b, w) => bodyFields.write(toFields(b), w),
  read(r) {
    const { version, slots, ...rest } = bodyFields.read(r);
    if (version !== BATCH_VERSION) throw new DecodeError("unsupported batch version");
    if (rest.slotCapacity < 1 || rest.slotCapacity > MAX_SLOT_CAPACITY) {
      throw new DecodeError("slot capacity out of range");
    }
    const slotSize = SLOT_OVERHEAD + rest.slotCapacity;
    if (slots.length % slotSize !== 0) throw new DecodeError("slots do not divide evenly");
    const decoded: Slot[] = [];
    for (let at = 0; at < slots.length; at += slotSize) {
      decoded.push(decodeSlot(slots.subarray(at, at + slotSize), rest.slotCapacity));
    }
    return { ...rest, slots: decoded };
  },
};

function toFields(b: Batch) {
  return {
    version: BATCH_VERSION,
    origin: b.origin,
    destination: b.destination,
    batchId: b.batchId,
    slotCapacity: b.slotCapacity,
    slots: concat(...b.slots.map((s) => encodeSlot(s, b.slotCapacity))),
  };
}

/**
 * Encodes and signs a batch with the sending relay's Ed25519 key.
 *
 * @example const bytes = await signBatch(batch, relay.keyRing.signingKey);
 */
export async function signBatch(batch: Batch, privateKey: CryptoKey): Promise<Uint8Array> {
  return signBody(Labels.federationBatch, encode(batchBodyCodec, batch), privateKey);
}

/** Reads who claims to have sent a batch, before anything is verified (to find its key). */
export function batchOrigin(bytes: Uint8Array, maxInput: number): string {
  const { body } = decode(signedBodyCodec, bytes, maxInput);
  const reader = new Reader(body);
  if (uint8.read(reader) !== BATCH_VERSION) throw new DecodeError("unsupported batch version");
  return utf8String(2048).read(reader);
}

/**
 * Verifies a signed batch against the sender's Ed25519 public key and decodes it.
 * CryptoError for a bad signature, DecodeError for malformed bytes.
 */
export async function verifyBatch(
  bytes: Uint8Array,
  signingKey: Uint8Array,
  maxInput: number,
): Promise<Batch> {
  const { body, signature } = decode(signedBodyCodec, bytes, maxInput);
  const valid = await verifyBody(Labels.federationBatch, body, signature, signingKey);
  if (!valid) throw new CryptoError("bad batch signature");
  return decode(batchBodyCodec, body, maxInput);
}
