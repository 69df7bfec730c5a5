/** A fetch from a chosen loopback source address, so a relay sees distinct clients. */
import { request as httpRequest } from "node:http";

/**
 * A fetch whose sockets are bound to `localAddress`, so a server sees that source address
 * (node:http rather than undici, which this project does not depend on directly).
 */
export function boundFetch(localAddress: string): typeof fetch {
  return (input, init) =>
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
      const request = httpRequest(
        url,
        { method: init?.method ?? "GET", headers, localAddress, agent: false },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            const status = response.statusCode ?? 500;
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(response.headers)) {
              if (typeof value === "string") responseHeaders.set(name, value);
            }
            const bytes = Buffer.concat(chunks);
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
      request.on("error", reject);
      init?.signal?.addEventListener("abort", () => request.destroy(new Error("aborted")));
      request.end(body);
    });
}
