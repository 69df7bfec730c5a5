import { concat, onArrayBuffer } from "../protocol/bytes.js";
import { TooLargeError } from "../protocol/errors.js";

/**
 * Reads a body stream whole, at most `max` bytes; undefined when it is longer (the rest is never
 * read, so the other side cannot make this relay buffer without bound).
 */
async function readStreamLimited(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const reader = body?.getReader();
  if (!reader) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    parts.push(value);
  }
  return parts.length === 1 ? onArrayBuffer(parts[0]!) : concat(...parts);
}

/**
 * Reads a peer's answer body, at most `max` bytes; undefined when it is longer.
 *
 * @example const bytes = await readLimited(await fetch(url), 64 * 1024);
 */
export function readLimited(
  response: Response,
  max: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  return readStreamLimited(response.body, max);
}

/**
 * The length a request declares in Content-Length, or undefined when it declares none (it is
 * then streamed chunked); TooLargeError when it declares more than `max`, so the body is refused
 * before a byte of it is read.
 */
export function declaredLength(value: string | null | undefined, max: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const length = Number(value);
  if (!Number.isSafeInteger(length) || length < 0) return undefined;
  if (length > max) throw new TooLargeError();
  return length;
}

/**
 * How the relay reads a POST body: whole, into one buffer, at most `max` bytes, TooLargeError
 * past that (from the declared length before reading, else while reading). The default reads
 * the web Request (any runtime); the Node entry passes one that reads the raw request instead.
 */
export type BodyReader = (request: Request, env: unknown, max: number) => Promise<Uint8Array>;

/**
 * Reads a web Request's body (see BodyReader).
 *
 * @example const body = await readRequestBody(request, undefined, 65536);
 */
export const readRequestBody: BodyReader = async (request, _env, max) => {
  declaredLength(request.headers.get("content-length"), max);
  const body = await readStreamLimited(request.body, max);
  if (!body) throw new TooLargeError();
  return body;
};
