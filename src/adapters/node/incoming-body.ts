/**
 * Reads a POST body straight from Node's IncomingMessage into one buffer: with a declared length
 * the chunks are copied once into a buffer of that size; the web stream @hono/node-server would
 * otherwise build around the request (and its extra copies) is never made.
 */
import type { IncomingMessage } from "node:http";
import { concat } from "../../protocol/bytes.js";
import { DecodeError, TooLargeError } from "../../protocol/errors.js";
import { declaredLength, readRequestBody, type BodyReader } from "../../relay/read-limited.js";

/**
 * Reads `incoming` whole, at most `max` bytes (a declared length over `max` is refused before
 * reading). Past `max` it stops reading and rejects; the answer then goes out while the rest of
 * the body is left unread.
 */
export function readIncoming(incoming: IncomingMessage, max: number): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    // Thrown here, it rejects the promise.
    const declared = declaredLength(incoming.headers["content-length"], max);
    const whole = declared === undefined ? undefined : new Uint8Array(declared);
    const parts: Uint8Array[] = [];
    let total = 0;
    const finish = (outcome: () => void) => {
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", onError);
      incoming.off("aborted", onAborted);
      outcome();
    };
    const onData = (chunk: Buffer) => {
      // Node's parser stops at a declared length; a chunked body is held to `max` here.
      if (total + chunk.length > (declared ?? max)) {
        incoming.pause();
        return finish(() => reject(new TooLargeError()));
      }
      if (whole) whole.set(chunk, total);
      else parts.push(chunk);
      total += chunk.length;
    };
    const onEnd = () =>
      finish(() =>
        whole && total !== declared
          ? reject(new DecodeError("body shorter than declared"))
          : resolve(whole ?? concat(...parts)),
      );
    const onError = (error: Error) => finish(() => reject(error));
    const onAborted = () => finish(() => reject(new DecodeError("request aborted")));
    incoming.on("data", onData);
    incoming.once("end", onEnd);
    incoming.once("error", onError);
    incoming.once("aborted", onAborted);
  });
}

/**
 * The Node entry's BodyReader: the raw request when the server hands it over as `env.incoming`
 * (as @hono/node-server does) and nothing has read it yet, else the web Request as on any runtime.
 *
 * @example const app = createRelayApp(relay, { readBody: readNodeBody });
 */
export const readNodeBody: BodyReader = (request, env, max) => {
  const incoming = (env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && !incoming.readableDidRead && !incoming.readableEnded) {
    return readIncoming(incoming, max);
  }
  return readRequestBody(request, env, max);
};
