/**
 * POSTs pre-made bodies over keep-alive node:http connections: sealed requests to a relay's
 * /v1/relay (`poster`), and the one-request primitive other parts build on (`postBody`).
 *
 * node:http rather than fetch: on Node 20 a fetch POST costs the sending process ~300-500 us of
 * CPU, node:http with a keep-alive Agent ~40 us, and the sender shares the cores with the relay.
 */
import { request, type Agent } from "node:http";
import { MediaTypes } from "../../src/protocol/labels.js";

/** One answer, read whole. */
export interface PostAnswer {
  status: number;
  contentType: string | undefined;
  body: Buffer;
}

/**
 * POSTs `body` to `target` and resolves with the whole answer, whatever its status; rejects
 * only on a connection error.
 *
 * @example const answer = await postBody(new URL("/v1/tokens", url), agent, headers, body);
 */
export function postBody(
  target: URL,
  agent: Agent,
  headers: Record<string, string>,
  body: Uint8Array,
): Promise<PostAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      { method: "POST", agent, headers: { ...headers, "content-length": body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers["content-type"],
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * A function that POSTs one sealed body and resolves once the whole answer is read; it rejects
 * unless the answer is a 200 of the request's size. Answers are tallied by HTTP status.
 *
 * @example const post = poster(url, new Agent({ keepAlive: true }), {}); await post(body);
 */
export function poster(url: string, agent: Agent, statuses: Record<string, number>) {
  const target = new URL("/v1/relay", url);
  const headers = { "content-type": MediaTypes.request };
  return async (body: Uint8Array): Promise<void> => {
    const { status, body: answer } = await postBody(target, agent, headers, body);
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status !== 200) throw new Error(`HTTP ${status}: ${answer.toString("utf8")}`);
    if (answer.length !== body.length) {
      throw new Error(`answer of ${answer.length} B to a ${body.length} B request`);
    }
  };
}
