import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { readIncoming, readNodeBody } from "../../src/adapters/node/incoming-body.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { TooLargeError } from "../../src/protocol/errors.js";
import { readRequestBody } from "../../src/relay/read-limited.js";
import { postInChunks } from "../../testkit/chunked-post.js";

const MAX = 64 * 1024;

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** What a server reading every request with readIncoming saw: the body, or the error's name. */
type Seen = { bytes: Uint8Array; bufferLength: number } | { error: string };

async function readingServer(max: number): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer((incoming, response) => {
    readIncoming(incoming, max).then(
      (bytes) => {
        seen.push({ bytes, bufferLength: bytes.buffer.byteLength });
        response.end("ok");
      },
      (error: Error) => {
        seen.push({ error: error.name });
        response.statusCode = 413;
        response.end("too large");
      },
    );
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
}

/** POSTs `body` in chunks, with or without a Content-Length; the status of the answer. */
function post(url: string, body: Uint8Array, announce: boolean): Promise<number> {
  return postInChunks(url, body, { announce });
}

describe("reading a request body on Node", () => {
  it("copies a body of declared length into one buffer of exactly that length", async () => {
    const { url, seen } = await readingServer(MAX);
    const body = randomBytes(40_000);
    expect(await post(url, body, true)).toBe(200);
    expect(seen).toEqual([{ bytes: body, bufferLength: body.length }]);
  });

  it("reads a chunked body whole", async () => {
    const { url, seen } = await readingServer(MAX);
    const body = randomBytes(50_000);
    expect(await post(url, body, false)).toBe(200);
    expect(seen).toHaveLength(1);
    expect((seen[0] as { bytes: Uint8Array }).bytes).toEqual(body);
  });

  it("refuses a declared length over the limit before reading a byte", async () => {
    const { url, seen } = await readingServer(MAX);
    expect(await post(url, randomBytes(MAX + 1), true)).toBe(413);
    expect(seen).toEqual([{ error: "TooLargeError" }]);
  });

  it("stops reading a chunked body once it passes the limit, and can still answer", async () => {
    const { url, seen } = await readingServer(MAX);
    // Eight times the limit: a reader that did not stop would take it all before answering.
    expect(await post(url, randomBytes(8 * MAX), false)).toBe(413);
    expect(seen).toEqual([{ error: "TooLargeError" }]);
  });

  it("falls back to the web Request when there is no raw request to read", async () => {
    const body = randomBytes(1000);
    const request = new Request("http://relay.test/", { method: "POST", body });
    expect(await readNodeBody(request, undefined, MAX)).toEqual(body);
  });
});

describe("reading a web Request's body", () => {
  it("refuses a declared length over the limit without pulling the stream", async () => {
    let pulled = false;
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulled = true;
          controller.close();
        },
      },
      { highWaterMark: 0 },
    );
    const request = new Request("http://relay.test/", {
      method: "POST",
      body: stream,
      headers: { "content-length": String(MAX + 1) },
      duplex: "half",
    } as RequestInit);
    await expect(readRequestBody(request, undefined, MAX)).rejects.toThrow(TooLargeError);
    expect(pulled).toBe(false);
  });

  it("cancels a stream that runs past the limit", async () => {
    let sent = 0;
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 16 * 1024;
        controller.enqueue(new Uint8Array(16 * 1024));
      },
      cancel() {
        cancelled = true;
      },
    });
    const request = new Request("http://relay.test/", {
      method: "POST",
      body: stream,
      duplex: "half",
    } as RequestInit);
    await expect(readRequestBody(request, undefined, MAX)).rejects.toThrow(TooLargeError);
    expect(cancelled).toBe(true);
    expect(sent).toBeLessThanOrEqual(MAX + 2 * 16 * 1024);
  });
});
