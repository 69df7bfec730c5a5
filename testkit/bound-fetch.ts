/** A fetch from a chosen loopback source address, so a relay sees distinct clients. */
import { request as httpRequest } from "node:http";

/** One finished exchange, as an observer of the client's link would see it. */
export interface BoundExchange {
  start: number;
  end: number;
  method: string;
  url: URL;
  /** Request and response body bytes. */
  up: number;
  down: number;
  status: number;
}

/** A bound fetch that can also abort whatever it still has under way. */
export interface BoundFetcher {
  fetch: typeof fetch;
  close(): void;
}

/**
 * Like boundFetch, telling `onExchange` about every exchange when it ends. Every request has its
 * own connection: a kept-alive one can be closed by the relay's idle timeout just as the client
 * reuses it, and the request then fails for no reason a test is about.
 *
 * @example
 * const { fetch, close } = boundFetcher("127.0.0.2", (e) => log.push(e));
 */
export function boundFetcher(
  localAddress: string,
  onExchange: (exchange: BoundExchange) => void = () => undefined,
): BoundFetcher {
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
            onExchange({
              start,
              end: performance.now(),
              method,
              url,
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
      init?.signal?.addEventListener("abort", () => request.destroy(new Error("aborted")));
      request.end(body);
    });
  return {
    fetch: bound,
    close: () => {
      for (const request of open) request.destroy();
    },
  };
}

/**
 * A fetch whose sockets are bound to `localAddress`, so a server sees that source address
 * (node:http rather than undici, which this project does not depend on directly).
 *
 * @example
 * const client = await RelayClient.connect(url, { fetch: boundFetch("127.0.0.2") });
 */
export function boundFetch(localAddress: string): typeof fetch {
  return boundFetcher(localAddress).fetch;
}
