/**
 * Searching what a relay holds (or what its operator view shows) for the metadata Shroud means
 * to keep from relays: member names, the group's name and MLS group id, the MLS header that
 * names group and epoch, and times from the demo's run.
 */
import { toBase64Url, toHex, utf8 } from "../protocol/bytes.js";

/** Something to look for, in every form it could take at rest. */
export interface Needle {
  what: string;
  forms: Buffer[];
}

/**
 * The forms a byte string could take at rest: raw, hex, base64 and base64url.
 *
 * @example encodings(groupId).some((form) => blob.includes(form))
 */
export function encodings(bytes: Uint8Array): Buffer[] {
  const hex = toHex(bytes);
  return [
    Buffer.from(bytes),
    Buffer.from(hex),
    Buffer.from(hex.toUpperCase()),
    Buffer.from(Buffer.from(bytes).toString("base64")),
    Buffer.from(toBase64Url(bytes)),
  ];
}

function uint64(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value);
  return out;
}

/**
 * Names (as MLS credentials, JSON strings and, when long enough, bare), texts sent, the group's
 * name, its id and its (group id, epoch) headers.
 *
 * @example
 * const needles = identityNeedles({ names: ["alice"], texts: [], groupName, groupId, epochs: [0n] });
 */
export function identityNeedles(input: {
  names: readonly string[];
  texts: readonly string[];
  groupName: string;
  groupId: Uint8Array;
  epochs: readonly bigint[];
}): Needle[] {
  const needles: Needle[] = input.names.map((name) => {
    const bytes = utf8(name);
    // How MLS carries a name: a basic credential, uint16 type 1 and a length-prefixed identity.
    const credential = new Uint8Array([0, 1, bytes.length, ...bytes]);
    return {
      what: `"${name}"`,
      forms: [
        ...encodings(credential),
        Buffer.from(JSON.stringify(name)),
        // A bare short name would turn up by chance in megabytes of ciphertext.
        ...(bytes.length >= 5 ? encodings(bytes) : []),
      ],
    };
  });
  for (const text of input.texts) needles.push({ what: `"${text}"`, forms: encodings(utf8(text)) });
  needles.push({
    what: `the group name "${input.groupName}"`,
    forms: encodings(utf8(input.groupName)),
  });
  needles.push({ what: "the MLS group id", forms: encodings(input.groupId) });
  for (const epoch of input.epochs) {
    // An MLS PrivateMessage starts group_id || epoch in the clear: what a relay would see if the
    // group payloads were not sealed under the epoch key.
    const header = new Uint8Array(input.groupId.length + 8);
    header.set(input.groupId);
    header.set(uint64(epoch), input.groupId.length);
    needles.push({ what: `group id ‖ epoch ${epoch}`, forms: encodings(header) });
  }
  return needles;
}

/**
 * Every Unix time in seconds between `fromMs` and `toMs`, in decimal (also the start of a
 * decimal millisecond time) and 64-bit big-endian, and 64-bit big-endian milliseconds (their
 * top six bytes, which one window of 65 s shares). Four-byte forms are left out: in megabytes of
 * ciphertext they would match by chance.
 *
 * @example findNeedles(blob, [timeNeedles(startedAt, Date.now())]) // [] when no time is stored
 */
export function timeNeedles(fromMs: number, toMs: number): Needle {
  const forms: Buffer[] = [];
  for (let s = Math.floor(fromMs / 1000) - 1; s <= Math.ceil(toMs / 1000) + 1; s++) {
    forms.push(Buffer.from(String(s)), ...encodings(uint64(BigInt(s))));
  }
  const prefixes = new Set<string>();
  for (let ms = fromMs - 1000; ms <= toMs + 1000; ms += 1000) {
    prefixes.add(toHex(uint64(BigInt(ms)).subarray(0, 6)));
  }
  for (const prefix of prefixes) forms.push(...encodings(Buffer.from(prefix, "hex")));
  return { what: "Unix times of the run (s and ms, decimal and binary)", forms };
}

/**
 * Which needles occur in `haystack` (by `what`).
 *
 * @example findNeedles(Buffer.from("hi alice"), identityNeedles({ ... })) // ['"alice"']
 */
export function findNeedles(haystack: Buffer, needles: readonly Needle[]): string[] {
  return needles
    .filter((needle) => needle.forms.some((form) => haystack.includes(form)))
    .map((needle) => needle.what);
}
