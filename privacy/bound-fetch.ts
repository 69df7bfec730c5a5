/**
 * A fetch for one simulated client: every connection leaves from the client's own loopback
 * address (127.0.0.x), so relays see distinct clients, and every exchange is noted as a network
 * observer on that client's link would see it: when, to where, how many bytes each way.
 * (The same idea as test/federation/support.ts's boundFetch, with recording.) Every request has
 * its own connection: a kept-alive one can be closed by the relay's idle timeout just as the
 * client reuses it, and the request then fails for no reason the simulation is about.
 */
import { request as httpRequest } from "node:http";
import type { ClientLinkRecord } from "./records.js";

export interface BoundFetch {
  fetch: typeof fetch;
  /** Aborts the client's requests still under way. */
  close(): void;
}

/**
 * @example
 * const { fetch, close } = boundFetch("127.0.0.2", records.clientLinks);
 * const client = await RelayClient.connect(url, { fetch });
 */
export function boundFetch(localAddress: string, link: ClientLinkRecord[]): BoundFetch {
  const open = new Set<{ destroy(): void }>();
  const bound: typeof fetch = (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : input.toString());
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((value, name) => (headers[name] = value));
      const raw = init?.body;
      const body =
        raw === undefined || raw === null
          ? undefined
          : raw instanceof Uint8Array
            ? Buffer.from(raw)
            : typeof raw === "string"
              ? Buffer.from(raw)
              : undefined;
      if (raw && !body) return reject(new TypeError("boundFetch: unsupported body type"));
      if (body) headers["content-length"] = String(body.length);
      const method = init?.method ?? "GET";
      const start = performance.now();
      const request = httpRequest(
        url,
        { method, headers, localAddress, agent: false },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            const status = response.statusCode ?? 500;
            const bytes = Buffer.concat(chunks);
            link.push({
              client: localAddress,
              start,
              end: performance.now(),
              method,
              server: url.host,
              path: url.pathname,
              up: body?.length ?? 0,
              down: bytes.length,
              status,
            });
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(response.headers)) {
              if (typeof value === "string") responseHeaders.set(name, value);
            }
            const empty = status === 204 || status === 304 || bytes.length === 0;
            resolve(
              new Response(empty ? null : new Uint8Array(bytes), {
                status,
                headers: responseHeaders,
              }),
            );
          });
        },
      );
      open.add(request);
      request.on("close", () => open.delete(request));
      request.on("error", reject);
      request.end(body);
    });
  return {
    fetch: bound,
    close: () => {
      for (const request of open) request.destroy();
    },
  };
}
