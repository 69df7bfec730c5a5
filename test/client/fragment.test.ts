import { describe, expect, it } from "vitest";
import { concat, fromUtf8, utf8 } from "../../src/protocol/bytes.js";
import { encode } from "../../src/protocol/codec.js";
import { DecodeError, TooLargeError } from "../../src/protocol/errors.js";
import {
  decodeFragment,
  encodeFragment,
  fragmentCodec,
  FRAGMENT_OVERHEAD,
  giveUpWindow,
  MAX_FRAGMENTS,
  reassemble,
  splitMessage,
  type Fragment,
  type OpenedItem,
} from "../../src/client/fragment.js";
import { expectEveryPrefixRefused, thrown } from "../../testkit/protocol-checks.js";

const fragment: Fragment = {
  messageId: new Uint8Array(16).fill(7),
  index: 1,
  count: 3,
  chunk: utf8("middle part"),
};

describe("Fragment wire struct", () => {
  it("roundtrips", () => {
    expect(decodeFragment(encodeFragment(fragment))).toEqual(fragment);
  });

  it("refuses every truncation", () => {
    expectEveryPrefixRefused(fragmentCodec, encode(fragmentCodec, fragment));
  });

  it.each([
    ["an index past the count", { ...fragment, index: 3 }],
    ["a count of one", { ...fragment, index: 0, count: 1 }],
    ["a count past the maximum", { ...fragment, count: MAX_FRAGMENTS + 1 }],
  ])("refuses %s", (_, bad) => {
    expect(thrown(() => decodeFragment(encode(fragmentCodec, bad)))).toBeInstanceOf(DecodeError);
  });
});

describe("splitMessage", () => {
  it("leaves a message that fits whole", () => {
    expect(splitMessage(new Uint8Array(100), 100)).toBeUndefined();
  });

  it("splits into fragments no larger than the capacity that rebuild the message", () => {
    const message = crypto.getRandomValues(new Uint8Array(10_000));
    const parts = splitMessage(message, 4000)!;
    expect(parts).toHaveLength(3);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(4000);
    const fragments = parts.map(decodeFragment);
    expect(new Set(fragments.map((f) => f.messageId.join()))).toHaveProperty("size", 1);
    expect(fragments.map((f) => [f.index, f.count])).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
    ]);
    expect(concat(...fragments.map((f) => f.chunk))).toEqual(message);
  });

  it("refuses a message that needs too many fragments, saying the limit in bytes", () => {
    const chunk = 100 - FRAGMENT_OVERHEAD;
    expect(splitMessage(new Uint8Array(MAX_FRAGMENTS * chunk), 100)).toHaveLength(MAX_FRAGMENTS);
    const error = thrown(() => splitMessage(new Uint8Array(MAX_FRAGMENTS * chunk + 1), 100));
    expect(error).toBeInstanceOf(TooLargeError);
    expect((error as Error).message).toContain(`at most ${MAX_FRAGMENTS * chunk} bytes`);
  });
});

/** Items as a reader opens them: "w:x" whole text x, "c" drop cover, "f:id:index/count:x" a fragment, "?" junk. */
function items(...specs: string[]): OpenedItem<string>[] {
  return specs.map((spec, i) => {
    const seq = 10 + i;
    const payload = utf8(spec);
    const [kind, a, b, c] = spec.split(":");
    if (kind === "w") return { seq, payload, whole: a! };
    if (kind === "c") return { seq, payload, cover: true as const };
    if (kind === "f") {
      const [index, count] = b!.split("/").map(Number);
      return {
        seq,
        payload,
        fragment: {
          messageId: new Uint8Array(16).fill(a!.charCodeAt(0)),
          index: index!,
          count: count!,
          chunk: utf8(c!),
        },
      };
    }
    return { seq, payload };
  });
}

function read(opened: OpenedItem<string>[], afterSeq = 9) {
  const result = reassemble(opened, afterSeq, fromUtf8);
  return {
    got: result.entries.map((e) =>
      "message" in e
        ? `${e.seq}:${e.message}`
        : `${e.seq}:${"cover" in e ? "cover" : e.unreadable}`,
    ),
    through: result.through,
    waiting: result.waiting,
  };
}

describe("reassemble", () => {
  it("passes whole items and unreadable ones through in order", () => {
    expect(read(items("w:a", "?", "w:b"))).toEqual({
      got: ["10:a", "11:item", "12:b"],
      through: 12,
      waiting: false,
    });
  });

  it("passes drop cover through as cover, which moves the cursor like any item", () => {
    expect(read(items("c", "w:a", "c"))).toEqual({
      got: ["10:cover", "11:a", "12:cover"],
      through: 12,
      waiting: false,
    });
  });

  it("rebuilds a message at its first fragment, whatever order its fragments came in", () => {
    expect(read(items("f:x:1/3:BB", "w:a", "f:x:0/3:AA", "f:x:2/3:CC", "w:b"))).toEqual({
      got: ["10:AABBCC", "11:a", "14:b"],
      through: 14,
      waiting: false,
    });
  });

  it("rebuilds interleaved messages of two senders", () => {
    expect(read(items("f:x:0/2:A", "f:y:0/2:C", "f:x:1/2:B", "f:y:1/2:D"))).toEqual({
      got: ["10:AB", "11:CD"],
      through: 13,
      waiting: false,
    });
  });

  it("stops at a message still missing fragments and leaves the cursor before it", () => {
    expect(read(items("w:a", "f:x:0/2:A", "w:b"))).toEqual({
      got: ["10:a"],
      through: 10,
      waiting: true,
    });
  });

  it("holds back a complete message whose fragments lie past an incomplete one", () => {
    // x began first and is complete, but its second fragment lies past y's first: reading x
    // now would move the cursor over y's fragment.
    expect(read(items("f:x:0/2:A", "f:y:0/2:C", "f:x:1/2:B"))).toEqual({
      got: [],
      through: 9,
      waiting: true,
    });
  });

  it("drops a message not complete within its window, and what comes later counts alone", () => {
    const filler = Array.from({ length: giveUpWindow(2) }, (_, i) => `w:${i}`);
    const result = read(items("f:x:0/2:A", ...filler, "f:x:1/2:B"));
    expect(result.got[0]).toBe("10:incomplete");
    expect(result.got.slice(1, -1)).toEqual(filler.map((f, i) => `${11 + i}:${f.slice(2)}`));
    // The fragment that came too late is an unreadable item of its own.
    expect(result.got.at(-1)).toBe(`${11 + filler.length}:item`);
    expect(result).toMatchObject({ waiting: false, through: 11 + filler.length });
  });

  it("completes a message whose last fragment is the last item of its window", () => {
    const filler = Array.from({ length: giveUpWindow(2) - 1 }, (_, i) => `w:${i}`);
    const result = read(items("f:x:0/2:A", ...filler, "f:x:1/2:B"));
    expect(result.got[0]).toBe("10:AB");
    expect(result.waiting).toBe(false);
  });

  it("takes a duplicate or disagreeing fragment as an unreadable item of its own", () => {
    expect(read(items("f:x:0/2:A", "f:x:0/2:Z", "f:x:1/3:Q", "f:x:1/2:B"))).toEqual({
      got: ["10:AB", "11:item", "12:item"],
      through: 13,
      waiting: false,
    });
  });

  it("makes a rebuilt message that does not decode unreadable", () => {
    const result = reassemble(items("f:x:0/2:A", "f:x:1/2:B"), 9, () => undefined);
    expect(result.entries.map((e) => "unreadable" in e && e.unreadable)).toEqual(["item"]);
  });

  it("gives every entry the cursor a reader may save after acting on it", () => {
    const result = reassemble(
      items("f:x:0/2:A", "f:y:0/2:C", "f:x:1/2:B", "f:y:1/2:D", "w:z"),
      9,
      fromUtf8,
    );
    // After x alone, y's first fragment (11) is still unread: the cursor stays at 9.
    expect(result.entries.map((e) => e.through)).toEqual([9, 13, 14]);
  });
});
