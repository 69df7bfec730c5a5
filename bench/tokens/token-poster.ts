/**
 * POSTs pre-blinded batch token requests to an issuer's /v1/tokens over keep-alive node:http
 * connections, with the attestation header, so the issuance rate measured is the relay's: the
 * client's blinding and finalizing happen before and after the timed window, not in it (and
 * node:http rather than fetch for the reason bench/http/http-poster.ts gives).
 */
import { request, type Agent } from "node:http";
import { MediaTypes } from "../../src/protocol/labels.js";

/**
 * A function that POSTs one BatchTokenRequest and resolves with the BatchTokenResponse bytes;
 * it rejects unless the issuer answers 200 with a token response.
 *
 * @example const post = tokenPoster(url, agent, { authorization: "Bearer x" }); const answer = await post(body);
 */
export function tokenPoster(url: string, agent: Agent, attestation: Record<string, string>) {
  const target = new URL("/v1/tokens", url);
  return (body: Uint8Array) =>
    new Promise<Uint8Array>((resolve, reject) => {
      const req = request(
        target,
        {
          method: "POST",
          agent,
          headers: {
            ...attestation,
            "content-type": MediaTypes.tokenRequest,
            "content-length": body.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            const answer = Buffer.concat(chunks);
            if (res.statusCode !== 200) {
              reject(new Error(`HTTP ${res.statusCode}: ${answer.toString("utf8")}`));
            } else if (res.headers["content-type"] !== MediaTypes.tokenResponse) {
              reject(new Error(`answered ${res.headers["content-type"]}, not a token response`));
            } else resolve(new Uint8Array(answer));
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
}
