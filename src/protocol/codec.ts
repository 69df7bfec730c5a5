/**
 * A small TLS presentation language codec (RFC 8446 §3, with RFC 9420's variable-length
 * vectors `<V>`). Encoding is two-phase: a codec first computes the exact size, then writes into
 * one preallocated buffer, so no intermediate copies are made. Decoding is bounds-checked on every
 * read, refuses trailing bytes and inputs over a maximum size, and raises only DecodeError.
 */
import { DecodeError } from "./errors.js";

/**
 * Default cap on a decoded input when the caller gives none (descriptors, key configs). Relay
 * requests and responses are decoded with the padding policy's largest bucket instead.
 */
export const DEFAULT_MAX_INPUT = 2 * 1024 * 1024;

/** Writes into a buffer sized in advance by Codec.size. */
export class Writer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  offset = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(value: number): void {
    this.view.setUint8(this.offset, value);
    this.offset += 1;
  }

  u16(value: number): void {
    this.view.setUint16(this.offset, value);
    this.offset += 2;
  }

  u32(value: number): void {
    this.view.setUint32(this.offset, value);
    this.offset += 4;
  }

  u64(value: number): void {
    this.view.setBigUint64(this.offset, BigInt(value));
    this.offset += 8;
  }

  raw(bytes: Uint8Array): void {
    this.bytes.set(bytes, this.offset);
    this.offset += bytes.length;
  }
}

/** Reads with a bounds check before every access. */
export class Reader {
  private readonly view: DataView;
  offset = 0;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private need(n: number): void {
    if (this.remaining < n) throw new DecodeError("truncated input");
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.offset++);
  }

  u16(): number {
    this.need(2);
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }

  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  u64(): number {
    this.need(8);
    const value = this.view.getBigUint64(this.offset);
    this.offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError("integer out of range");
    return Number(value);
  }

  raw(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
}

/** Encodes and decodes one wire type. */
export interface Codec<T> {
  size(value: T): number;
  write(value: T, writer: Writer): void;
  read(reader: Reader): T;
}

/** The value type a codec handles. */
export type CodecValue<C> = C extends Codec<infer T> ? T : never;

/**
 * Encodes a value into exactly `codec.size(value)` bytes.
 *
 * @example encode(uint16, 513) // Uint8Array [2, 1]
 */
export function encode<T>(codec: Codec<T>, value: T): Uint8Array {
  const writer = new Writer(codec.size(value));
  codec.write(value, writer);
  if (writer.offset !== writer.bytes.length) throw new Error("codec size mismatch");
  return writer.bytes;
}

/**
 * Decodes a whole input; trailing bytes, truncation and oversize inputs raise DecodeError.
 *
 * @example decode(uint16, new Uint8Array([2, 1])) // 513
 */
export function decode<T>(codec: Codec<T>, bytes: Uint8Array, maxInput = DEFAULT_MAX_INPUT): T {
  if (bytes.length > maxInput) throw new DecodeError("input too large");
  const reader = new Reader(bytes);
  let value: T;
  try {
    value = codec.read(reader);
  } catch (error) {
    if (error instanceof DecodeError) throw error;
    // A bug in a decoder must still not escape as something other than bad input.
    throw new DecodeError("malformed input");
  }
  if (reader.remaining !== 0) throw new DecodeError("trailing bytes");
  return value;
}

function checkInt(value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`integer ${value} outside 0..${max}`);
  }
}

export const uint8: Codec<number> = {
  size: () => 1,
  write: (v, w) => (checkInt(v, 0xff), w.u8(v)),
  read: (r) => r.u8(),
};

export const uint16: Codec<number> = {
  size: () => 2,
  write: (v, w) => (checkInt(v, 0xffff), w.u16(v)),
  read: (r) => r.u16(),
};

export const uint32: Codec<number> = {
  size: () => 4,
  write: (v, w) => (checkInt(v, 0xffffffff), w.u32(v)),
  read: (r) => r.u32(),
};

/** uint64 limited to JavaScript's safe integers; larger values on the wire are refused. */
export const uint64: Codec<number> = {
  size: () => 8,
  write: (v, w) => (checkInt(v, Number.MAX_SAFE_INTEGER), w.u64(v)),
  read: (r) => r.u64(),
};

const VARINT_MAX = 0x3fffffff;
/** The most bytes a varint takes (a length prefix at its widest). */
export const MAX_VARINT_SIZE = 4;

function varintSize(value: number): number {
  checkInt(value, VARINT_MAX);
  return value < 0x40 ? 1 : value < 0x4000 ? 2 : 4;
}

/** RFC 9420 §2.1.2 variable-length integer (1, 2 or 4 bytes; minimal encoding required). */
export const varint: Codec<number> = {
  size: varintSize,
  write(value, w) {
    const n = varintSize(value);
    if (n === 1) w.u8(value);
    else if (n === 2) w.u16(0x4000 | value);
    else w.u32((0x80000000 | value) >>> 0);
  },
  read(r) {
    const first = r.u8();
    const prefix = first >> 6;
    let value: number;
    if (prefix === 0) return first;
    if (prefix === 1) {
      value = ((first & 0x3f) << 8) | r.u8();
      if (value < 0x40) throw new DecodeError("non-minimal varint");
    } else if (prefix === 2) {
      value = ((first & 0x3f) * 0x1000000 + r.u8() * 0x10000 + r.u16()) >>> 0;
      if (value < 0x4000) throw new DecodeError("non-minimal varint");
    } else {
      throw new DecodeError("invalid varint prefix");
    }
    return value;
  },
};

/** opaque data[n]: exactly n bytes. */
export function fixedBytes(n: number): Codec<Uint8Array> {
  return {
    size: () => n,
    write(v, w) {
      if (v.length !== n) throw new RangeError(`expected ${n} bytes, got ${v.length}`);
      w.raw(v);
    },
    read: (r) => r.raw(n),
  };
}

/** opaque data<V>: a varint length, then the bytes. An optional cap bounds the length. */
export function opaque(max = VARINT_MAX): Codec<Uint8Array> {
  return {
    size: (v) => varintSize(v.length) + v.length,
    write(v, w) {
      if (v.length > max) throw new RangeError("opaque value too long");
      varint.write(v.length, w);
      w.raw(v);
    },
    read(r) {
      const length = varint.read(r);
      if (length > max) throw new DecodeError("opaque value too long");
      return r.raw(length);
    },
  };
}

/** T items<V>: a varint byte length, then the items back to back. */
export function vector<T>(item: Codec<T>, maxItems = Number.MAX_SAFE_INTEGER): Codec<T[]> {
  const bodySize = (items: T[]) => items.reduce((sum, v) => sum + item.size(v), 0);
  return {
    size(items) {
      const body = bodySize(items);
      return varintSize(body) + body;
    },
    write(items, w) {
      if (items.length > maxItems) throw new RangeError("too many vector items");
      varint.write(bodySize(items), w);
      for (const v of items) item.write(v, w);
    },
    read(r) {
      const length = varint.read(r);
      const body = new Reader(r.raw(length));
      const items: T[] = [];
      while (body.remaining > 0) {
        const before = body.remaining;
        items.push(item.read(body));
        // An item that consumes nothing would loop forever on crafted input.
        if (body.remaining === before) throw new DecodeError("empty vector item");
        if (items.length > maxItems) throw new DecodeError("too many vector items");
      }
      return items;
    },
  };
}

/** optional<T>: a uint8 presence flag (0 or 1), then the value when present. */
export function optional<T>(inner: Codec<T>): Codec<T | undefined> {
  return {
    size: (v) => 1 + (v === undefined ? 0 : inner.size(v)),
    write(v, w) {
      w.u8(v === undefined ? 0 : 1);
      if (v !== undefined) inner.write(v, w);
    },
    read(r) {
      const present = r.u8();
      if (present === 0) return undefined;
      if (present !== 1) throw new DecodeError("invalid optional flag");
      return inner.read(r);
    },
  };
}

/** An integer field restricted to the values of an `as const` object. */
export function enumeration<V extends number>(
  base: Codec<number>,
  values: Record<string, V>,
): Codec<V> {
  const allowed = new Set<number>(Object.values(values));
  return {
    size: (v) => base.size(v),
    write(v, w) {
      if (!allowed.has(v)) throw new RangeError(`value ${v} not in enumeration`);
      base.write(v, w);
    },
    read(r) {
      const v = base.read(r);
      if (!allowed.has(v)) throw new DecodeError("unknown enumeration value");
      return v as V;
    },
  };
}

type Fields = Record<string, Codec<unknown>>;

/** A struct whose fields are encoded in the order of the object's keys. */
export function struct<F extends Fields>(fields: F): Codec<{ [K in keyof F]: CodecValue<F[K]> }> {
  const entries = Object.entries(fields);
  type Value = { [K in keyof F]: CodecValue<F[K]> };
  return {
    size(value) {
      let size = 0;
      for (const [name, codec] of entries)
        size += codec.size((value as Record<string, unknown>)[name]);
      return size;
    },
    write(value, w) {
      for (const [name, codec] of entries) codec.write((value as Record<string, unknown>)[name], w);
    },
    read(r) {
      const out: Record<string, unknown> = {};
      for (const [name, codec] of entries) out[name] = codec.read(r);
      return out as Value;
    },
  };
}

/** A UTF-8 string as opaque<V> (at most `maxBytes` bytes); invalid UTF-8 is a DecodeError. */
export function utf8String(maxBytes = VARINT_MAX): Codec<string> {
  const bytes = opaque(maxBytes);
  const encoder = new TextEncoder();
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  return {
    size: (v) => bytes.size(encoder.encode(v)),
    write: (v, w) => bytes.write(encoder.encode(v), w),
    read(r) {
      const raw = bytes.read(r);
      try {
        return decoder.decode(raw);
      } catch {
        throw new DecodeError("invalid UTF-8");
      }
    },
  };
}
