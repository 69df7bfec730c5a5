/**
 * Which faults a serving process outlives, and what it logs about them: the error's class and
 * code only, at most once per interval per kind. Real ioredis errors are the transient ones.
 */
import { Redis, ReplyError } from "ioredis";
import { describe, expect, it } from "vitest";
import {
  FAULT_LOG_INTERVAL_MS,
  FaultLog,
  faultLabel,
  isTransientFault,
} from "../../src/adapters/node/process-faults.js";
import { TransportError } from "../../src/protocol/errors.js";
import { freePort } from "./support.js";

describe("process faults", () => {
  it("counts Redis and network outages as transient, and everything else as fatal", async () => {
    // A real ioredis command against a port nobody listens on.
    const redis = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    redis.on("error", () => undefined);
    const refused = await redis.connect().catch((error: unknown) => error);
    const closed = await redis.get("x").catch((error: unknown) => error);
    redis.disconnect();
    expect(isTransientFault(refused)).toBe(true);
    expect(isTransientFault(closed)).toBe(true);
    expect(isTransientFault(new ReplyError("ERR string exceeds maximum allowed size"))).toBe(true);
    expect(isTransientFault(new TransportError("peer unreachable"))).toBe(true);
    expect(isTransientFault(new Error("wrapped", { cause: refused }))).toBe(true);
    expect(isTransientFault(new DOMException("deadline passed", "TimeoutError"))).toBe(true);
    for (const fatal of [new TypeError("x"), new RangeError("y"), new Error("z"), "text", null]) {
      expect(isTransientFault(fatal)).toBe(false);
    }
  });

  it("labels a fault by class and code, never by its message", () => {
    const error = Object.assign(new Error("connect ECONNREFUSED 10.0.0.5:6379"), {
      code: "ECONNREFUSED",
    });
    expect(faultLabel(error)).toBe("Error ECONNREFUSED");
    expect(faultLabel(new ReplyError("ERR inbox 00ff"))).toBe("ReplyError");
    expect(faultLabel(Object.assign(new TypeError("t"), { code: "10.0.0.5" }))).toBe("TypeError");
    expect(faultLabel("a string with data")).toBe("string");
    expect(faultLabel({ any: "object" })).toBe("non-error object");
  });

  it("logs one kind of fault at most once per interval, then how many more there were", () => {
    let now = 0;
    const lines: string[] = [];
    const log = new FaultLog(
      (line) => lines.push(line),
      () => now,
    );
    log.note("Redis", "Error ECONNREFUSED");
    log.note("Redis", "Error ECONNREFUSED");
    log.note("Redis", "ReplyError");
    now += FAULT_LOG_INTERVAL_MS - 1;
    log.note("Redis", "Error ECONNREFUSED");
    now += 1;
    log.note("Redis", "Error ECONNREFUSED");
    expect(lines).toEqual([
      "shroud: Redis: Error ECONNREFUSED; still serving",
      "shroud: Redis: ReplyError; still serving",
      "shroud: Redis: Error ECONNREFUSED (2 more since the last report); still serving",
    ]);
  });
});
