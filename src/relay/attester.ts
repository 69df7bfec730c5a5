/**
 * Attesters: the operator's answer to "is this one of our users?" before the relay issues
 * tokens. Each names the client it vouched for with an opaque key that the issuer counts the
 * allowance under, in memory only; none of them sees which tokens are later spent where.
 */
import { constantTimeEqual, utf8 } from "../protocol/bytes.js";

/** Decides who may get tokens at POST /v1/tokens (see inviteAttester, headerAttester). */
export interface Attester {
  /** The client's allowance key, or undefined when the request is not attested (HTTP 401). */
  attest(request: Request, clientAddress: string | undefined): string | undefined;
}

/**
 * Holders of one of the operator's invite secrets, sent as `Authorization: Bearer <secret>`;
 * each secret has its own allowance. Compared in constant time.
 *
 * @example const attester = inviteAttester(["7Jx...", "k2Q..."]);
 */
export function inviteAttester(secrets: readonly string[]): Attester {
  const known = secrets.map((s) => utf8(s));
  return {
    attest(request) {
      const header = request.headers.get("authorization") ?? "";
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) return undefined;
      const given = utf8(match[1]!);
      let found = -1;
      // Every secret is compared, so the time taken does not say which one matched.
      known.forEach((secret, i) => {
        if (constantTimeEqual(secret, given) && found < 0) found = i;
      });
      return found < 0 ? undefined : `invite:${found}`;
    },
  };
}

/**
 * Whoever the operator's reverse proxy let through after its own login: the proxy sets
 * `header` to the user's name (and must drop that header from what clients send).
 *
 * @example const attester = headerAttester("x-shroud-user");
 */
export function headerAttester(header: string): Attester {
  return {
    attest(request) {
      const user = request.headers.get(header)?.trim();
      return user ? `user:${user}` : undefined;
    },
  };
}

/**
 * Anyone, counted per client address (an IPv4 address or IPv6 /64): a daily allowance for
 * relays without accounts. Weakest of the three: an address is not a person.
 */
export const addressAttester: Attester = {
  attest(_request, clientAddress) {
    return clientAddress ? `address:${clientAddress}` : undefined;
  },
};
