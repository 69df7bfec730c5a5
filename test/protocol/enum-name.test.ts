import { describe, expect, it } from "vitest";
import { enumName } from "../../src/protocol/enum-name.js";
import { RequestKind, requestKindName } from "../../src/protocol/relay-request.js";
import { RelayStatus, relayStatusName } from "../../src/protocol/relay-status.js";

describe("enumName", () => {
  it("names every value of the protocol's ID tables and refuses others", () => {
    for (const [name, value] of Object.entries(RelayStatus)) {
      expect(relayStatusName(value)).toBe(name);
    }
    for (const [name, value] of Object.entries(RequestKind)) {
      expect(requestKindName(value)).toBe(name);
    }
    expect(enumName(RelayStatus, 3)).toBe("forbidden");
    expect(() => enumName(RelayStatus, 2)).toThrow(RangeError);
    expect(() => enumName(RelayStatus, 99)).toThrow(RangeError);
  });
});
