/**
 * How `send` and `fetch` reach an inbox's relay: directly, or with --via through an ingress
 * relay that federates with it (the two-hop split: the ingress sees the client, never the inbox;
 * the inbox's relay sees the ingress, never the client).
 */
import { RelayClient } from "../client/relay-client.js";
import { ShapingProfiles } from "../client/shaping-profile.js";
import { normalizeOrigin } from "../protocol/descriptor.js";
import { TransportError } from "../protocol/errors.js";
import { CliError, line, originArgument, type CliIo } from "./cli-support.js";

export interface RelayConnection {
  client: RelayClient;
  /** The ingress relay's origin when requests go through one. */
  via: string | undefined;
}

/** The --via option's value checked as an origin (undefined when not given). */
export function viaOption(value: string | undefined): string | undefined {
  return value === undefined ? undefined : originArgument(value, "--via");
}

/**
 * A client for `relay`, whose descriptor must be signed by `signingKey` when given. With `via`
 * (an origin from viaOption) every request goes through that relay. A `via` naming `relay`
 * itself adds no hop: the client connects directly and says so on stderr.
 */
export async function connectRelay(
  io: CliIo,
  relay: string,
  signingKey: Uint8Array | undefined,
  via: string | undefined,
): Promise<RelayConnection> {
  // A one-shot command cannot hide when its user acts: it sends at once and exits (shroud agent
  // is the CLI's shaping client).
  const pin = {
    shaping: ShapingProfiles.off,
    ...(signingKey ? { pinnedSigningKey: signingKey } : {}),
  };
  if (via === undefined || via === normalizeOrigin(relay)) {
    if (via !== undefined) {
      await line(io.stderr, `--via ${via} is the inbox's own relay: connecting to it directly`);
    }
    return { client: await RelayClient.connect(relay, pin), via: undefined };
  }
  const ingress = await RelayClient.connect(via, { shaping: ShapingProfiles.off });
  try {
    return { client: await RelayClient.connectVia(relay, ingress, pin), via: ingress.origin };
  } catch (error) {
    // The ingress relay refuses or cannot reach the inbox's relay: say which link failed.
    if (error instanceof TransportError) {
      throw new CliError(`${via} cannot relay to ${relay}: ${error.message}`);
    }
    throw error;
  }
}
