/**
 * CORS for the endpoints a client uses (descriptor, key list, /v1/relay), so that a web app can
 * talk to a relay from a browser. Never for /v1/federation (relays only) or the operator routes.
 * No credentials: a relay has no cookies or accounts, and a credentialed request would let a
 * browser attach whatever the relay's site once set.
 */
import { cors } from "hono/cors";
import type { MiddlewareHandler } from "hono";
import { ConfigError } from "../protocol/errors.js";

/** Which web origins may read the relay's answers. */
export interface CorsConfig {
  /**
   * "*" (the default): any origin, since a relay serves whoever holds a capability and a
   * request carries nothing a page could abuse; a list of exact origins
   * ("https://app.example"); or an empty list: no CORS headers, browsers cannot use the relay.
   */
  origins: "*" | readonly string[];
}

export const DEFAULT_CORS: CorsConfig = { origins: "*" };

/**
 * How long a browser may cache a preflight (seconds). Browsers cap it (Chromium at 2 h): each
 * preflight is one more request, an OPTIONS without a body, which a network observer sees.
 */
export const PREFLIGHT_MAX_AGE = 7200;

/** Checks and normalises the configured origins (scheme://host[:port], no path). */
export function corsConfig(input: Partial<CorsConfig> = {}): CorsConfig {
  const origins = input.origins ?? DEFAULT_CORS.origins;
  if (origins === "*") return { origins };
  return {
    origins: origins.map((origin) => {
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        throw new ConfigError(`cors origin ${JSON.stringify(origin)} is not a URL`);
      }
      if ((url.protocol !== "https:" && url.protocol !== "http:") || url.origin !== origin) {
        throw new ConfigError(
          `cors origin ${JSON.stringify(origin)} must be an origin like https://app.example`,
        );
      }
      return url.origin;
    }),
  };
}

/**
 * Reads the allowed origins as an operator writes them (flag or environment variable): "*",
 * "none", or origins separated by commas. ConfigError names `name` when the text is wrong.
 *
 * @example parseCorsOrigins("https://a.example, https://b.example", "SHROUD_CORS_ORIGINS")
 */
export function parseCorsOrigins(text: string, name: string): CorsConfig {
  const trimmed = text.trim();
  if (trimmed === "*") return { origins: "*" };
  if (trimmed === "none") return { origins: [] };
  const origins = trimmed.split(",").map((o) => o.trim());
  if (origins.some((o) => o === "")) {
    throw new ConfigError(`${name} must be "*", "none" or origins separated by commas`);
  }
  try {
    return corsConfig({ origins });
  } catch (error) {
    throw new ConfigError(`${name}: ${(error as Error).message}`);
  }
}

/**
 * The middleware for the client endpoints; undefined when CORS is off (an empty list).
 *
 * @example
 * const mw = corsMiddleware({ origins: "*" });
 * if (mw) app.use("/v1/relay", mw);
 */
export function corsMiddleware(config: CorsConfig): MiddlewareHandler | undefined {
  const { origins } = config;
  if (origins !== "*" && origins.length === 0) return undefined;
  return cors({
    // Hono answers a listed origin with that origin (and Vary: Origin), any other with none.
    origin: origins === "*" ? "*" : [...origins],
    allowMethods: ["GET", "POST"],
    allowHeaders: ["content-type"],
    maxAge: PREFLIGHT_MAX_AGE,
    credentials: false,
  });
}
