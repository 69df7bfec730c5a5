/**
 * The bearer token check of operator routes (the Worker's admin routes): pure Web Crypto, so it
 * runs on every runtime and its tests run on Node.
 */
import { constantTimeEqual, sha256, utf8 } from "../protocol/bytes.js";
import type { SecretBytes } from "../protocol/secret-bytes.js";

/**
 * Whether an Authorization header carries `Bearer <token>`. Both sides are hashed first and the
 * digests compared in constant time, so neither the token's length nor how much of it a guess
 * got right shows in the time taken (a length check before comparing would tell the length).
 *
 * @example await bearerTokenMatches(request.headers.get("authorization") ?? undefined, token)
 */
export async function bearerTokenMatches(
  header: string | undefined,
  token: SecretBytes,
): Promise<boolean> {
  const given = /^Bearer (.+)$/.exec(header ?? "")?.[1];
  // A missing or malformed header is hashed too (as nothing), so it takes the same path.
  const [givenDigest, tokenDigest] = await Promise.all([
    sha256(utf8(given ?? "")),
    sha256(token.expose()),
  ]);
  return constantTimeEqual(givenDigest, tokenDigest) && given !== undefined;
}
