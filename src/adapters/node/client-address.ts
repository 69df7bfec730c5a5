/**
 * Which client a request counts against for the ingress limits: the socket's peer address, or,
 * behind a trusted reverse proxy, the address the proxy appended to X-Forwarded-For. Addresses
 * are reduced to a limit key (an IPv4 address, or the /64 prefix of an IPv6 one, since one
 * subscriber usually holds a whole /64) and live only in memory, never in a log or a store.
 */
import { isIP } from "node:net";

/** The eight 16-bit groups of an IPv6 address (valid per isIP), zone id dropped. */
function ipv6Groups(address: string): number[] {
  const text = address.split("%")[0]!;
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const parse = (part: string | undefined): number[] => {
    if (!part) return [];
    const groups: number[] = [];
    for (const piece of part.split(":")) {
      if (piece.includes(".")) {
        const [a, b, c, d] = piece.split(".").map(Number) as [number, number, number, number];
        groups.push((a << 8) | b, (c << 8) | d);
      } else {
        groups.push(parseInt(piece, 16));
      }
    }
    return groups;
  };
  const first = parse(head);
  const last = parse(tail);
  const zeros = tail === undefined ? [] : new Array<number>(8 - first.length - last.length).fill(0);
  return [...first, ...zeros, ...last];
}

/**
 * The key an address is limited under; undefined when it is not an IP address.
 *
 * @example addressKey("::ffff:192.0.2.7") // "192.0.2.7"
 * @example addressKey("2001:db8:1:2:3:4:5:6") // "2001:db8:1:2::/64"
 */
export function addressKey(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const text = address.trim();
  const version = isIP(text);
  if (version === 4) return text;
  if (version !== 6) return undefined;
  const groups = ipv6Groups(text);
  // An IPv4 client on a dual-stack socket: the same key as on an IPv4 socket.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join(".");
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}

/**
 * The client address a reverse proxy appended to X-Forwarded-For: its last entry (entries
 * before it were sent by the client and can say anything). Undefined when there is none usable.
 *
 * @example forwardedAddress("203.0.113.9, 198.51.100.4") // "198.51.100.4"
 */
export function forwardedAddress(header: string | null | undefined): string | undefined {
  const last = header?.split(",").at(-1)?.trim();
  if (!last) return undefined;
  if (isIP(last) !== 0) return last;
  // Some proxies add a port: "[2001:db8::1]:443" or "192.0.2.7:443".
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(last)?.[1];
  if (bracketed && isIP(bracketed) === 6) return bracketed;
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(last)?.[1];
  return withPort && isIP(withPort) === 4 ? withPort : undefined;
}

/**
 * The limit key of a request's client: its socket's peer address, or, behind a trusted reverse
 * proxy, the address the proxy appended to X-Forwarded-For (the socket's when there is none).
 *
 * @example requestAddressKey(request.headers.get("x-forwarded-for"), socket.remoteAddress, true)
 */
export function requestAddressKey(
  forwardedFor: string | null | undefined,
  socketAddress: string | undefined,
  trustProxy: boolean,
): string | undefined {
  return addressKey((trustProxy ? forwardedAddress(forwardedFor) : undefined) ?? socketAddress);
}
