/**
 * A POST over node:http in 16 KiB chunks that resolves with the status of the answer, which may
 * come before the body is all sent (the request is then dropped): how a sender that does not
 * stop meets an early 413. fetch cannot be used for this: it reports the server closing the
 * connection after its early answer as a network error, at random.
 */
import { request as httpRequest } from "node:http";

const CHUNK = 16 * 1024;

export interface ChunkedPostOptions {
  headers?: Record<string, string>;
  /** Send a Content-Length (else the body goes chunked). */
  announce: boolean;
  /** Send the first chunk only and wait for the answer (the length gives the size away). */
  firstChunkOnly?: boolean;
}

/**
 * @example expect(await postInChunks(url, randomBytes(1 << 20), { announce: false })).toBe(413);
 */
export function postInChunks(
  url: string | URL,
  body: Uint8Array,
  options: ChunkedPostOptions,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let answered = false;
    const headers = { ...options.headers };
    if (options.announce) headers["content-length"] = String(body.length);
    const request = httpRequest(url, { method: "POST", headers }, (response) => {
      answered = true;
      response.resume();
      resolve(response.statusCode ?? 0);
      request.destroy();
    });
    request.on("error", (error) => {
      if (!answered) reject(error);
    });
    let at = 0;
    const pump = () => {
      while (!answered && at < body.length) {
        const next = body.subarray(at, at + CHUNK);
        at += next.length;
        if (options.firstChunkOnly) return void request.write(next);
        if (!request.write(next)) return void request.once("drain", pump);
      }
      if (!answered) request.end();
    };
    pump();
  });
}
