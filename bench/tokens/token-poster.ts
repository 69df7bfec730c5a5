/**
 * POSTs pre-blinded batch token requests to an issuer's /v1/tokens over keep-alive node:http
 * connections, with the attestation header, so the issuance rate measured is the relay's: the
 * client's blinding and finalizing happen before and after the timed window, not in it.
 */
import type { Agent } from "node:http";
import { MediaTypes } from "../../src/protocol/labels.js";
import { postBody } from "../http/http-poster.js";

/**
 * A function that POSTs one BatchTokenRequest and resolves with the BatchTokenResponse bytes;
 * it rejects unless the issuer answers 200 with a token response.
 *
 * @example const post = tokenPoster(url, agent, { authorization: "Bearer x" }); const answer = await post(body);
 */
export function tokenPoster(url: string, agent: Agent, attestation: Record<string, string>) {
  const target = new URL("/v1/tokens", url);
  const headers = { ...attestation, "content-type": MediaTypes.tokenRequest };
  return async (body: Uint8Array): Promise<Uint8Array> => {
    const answer = await postBody(target, agent, headers, body);
    if (answer.status !== 200) {
      throw new Error(`HTTP ${answer.status}: ${answer.body.toString("utf8")}`);
    }
    if (answer.contentType !== MediaTypes.tokenResponse) {
      throw new Error(`answered ${answer.contentType}, not a token response`);
    }
    return new Uint8Array(answer.body);
  };
}
