/**
 * Getting a relay's signed descriptor straight from it (GET /.well-known/shroud) and verifying
 * it: what a RelayClient does before it talks to a relay, and a TokenWallet before it asks its
 * issuer for tokens.
 */
import { verifyDescriptor, type Descriptor } from "../protocol/descriptor.js";
import { DescriptorError, TransportError } from "../protocol/errors.js";

/** How a descriptor is fetched and checked: the HTTP client, the clock and an optional pin. */
export interface DescriptorOptions {
  fetch?: typeof fetch;
  now?: () => number;
  /** Expected Ed25519 key of the relay; the descriptor must be signed by it. */
  pinnedSigningKey?: Uint8Array;
}

/** The descriptor bytes `origin` serves; TransportError when it cannot be had. */
export async function fetchDescriptorBytes(
  origin: string,
  options: DescriptorOptions,
): Promise<Uint8Array> {
  const doFetch = options.fetch ?? fetch;
  const url = new URL("/.well-known/shroud", origin);
  let response: Response;
  try {
    response = await doFetch(url);
  } catch (cause) {
    throw new TransportError(`cannot reach relay at ${url.origin}`, { cause });
  }
  if (response.status !== 200) {
    throw new TransportError(`relay descriptor request failed with HTTP ${response.status}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

/** Verifies descriptor bytes for `origin`; any failure, malformed bytes included, is a DescriptorError. */
export async function openDescriptor(
  bytes: Uint8Array,
  origin: string,
  options: DescriptorOptions,
): Promise<Descriptor> {
  try {
    return await verifyDescriptor(bytes, {
      origin,
      now: (options.now ?? Date.now)(),
      ...(options.pinnedSigningKey ? { pinnedSigningKey: options.pinnedSigningKey } : {}),
    });
  } catch (error) {
    if (error instanceof DescriptorError) throw error;
    throw new DescriptorError("relay descriptor is malformed");
  }
}
