/**
 * A profile's Privacy Pass wallet as it is kept in DIR/tokens.enc (sealed like the rest of the
 * profile): the issuer, the invite secret that gets this profile past the issuer's attester (if
 * it has one), and the tokens not yet spent.
 *
 *   tokens.enc (JSON): { "shroud": "tokens/v1", issuer, invite?,
 *                        tokens: [{ token: base64url, expiresAt: ms }] }
 *
 * The invite is kept so that a long-running client (`shroud agent`) refills on its own.
 */
import { TokenWallet } from "../client/token-wallet.js";
import { fromBase64Url, toBase64Url } from "../protocol/bytes.js";
import { normalizeOrigin } from "../protocol/descriptor.js";
import { CliError } from "./cli-support.js";

const TAG = "tokens/v1";

/** Tokens asked for per refill: one request to the issuer a month for most people. */
export const WALLET_BATCH = 32;

export interface ProfileWallet {
  wallet: TokenWallet;
  /** The invite secret sent as `Authorization: Bearer`; undefined for other attesters. */
  invite: string | undefined;
}

/**
 * A wallet for `issuer`, pinned to its descriptor key when the profile knows it.
 *
 * @example const w = newProfileWallet("https://a.example", process.env.SHROUD_INVITE, pin);
 */
export function newProfileWallet(
  issuer: string,
  invite: string | undefined,
  pinnedSigningKey: Uint8Array | undefined,
): ProfileWallet {
  const wallet = new TokenWallet(issuer, {
    batchSize: WALLET_BATCH,
    ...(invite ? { attestation: { authorization: `Bearer ${invite}` } } : {}),
    ...(pinnedSigningKey ? { pinnedSigningKey } : {}),
  });
  return { wallet, invite };
}

/** The wallet in tokens.enc; CliError when the file is not one. */
export function walletFromJson(
  text: string,
  pin: (issuer: string) => Uint8Array | undefined,
): ProfileWallet {
  try {
    const record = JSON.parse(text) as Record<string, unknown>;
    if (record["shroud"] !== TAG || typeof record["issuer"] !== "string") throw new TypeError();
    const invite = record["invite"];
    if (invite !== undefined && typeof invite !== "string") throw new TypeError();
    const issuer = normalizeOrigin(record["issuer"]);
    const loaded = newProfileWallet(issuer, invite, pin(issuer));
    const tokens = (record["tokens"] as Array<{ token: string; expiresAt: number }>).map((t) => ({
      token: fromBase64Url(t.token),
      expiresAt: Number(t.expiresAt),
    }));
    loaded.wallet.restore(tokens);
    return loaded;
  } catch {
    throw new CliError("the profile's token wallet (tokens.enc) is damaged");
  }
}

/** What goes into tokens.enc; expired tokens are left out. */
export function walletToJson({ wallet, invite }: ProfileWallet): string {
  return JSON.stringify({
    shroud: TAG,
    issuer: wallet.issuer,
    ...(invite ? { invite } : {}),
    tokens: wallet.export().map((t) => ({ token: toBase64Url(t.token), expiresAt: t.expiresAt })),
  });
}
