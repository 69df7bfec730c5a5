/**
 * Which incoming HTTP request the relay code running now belongs to, so that what a relay does
 * (a fetch of an inbox, a deposit) can be attributed to the connection's source address the way
 * its operator could. Node publishes every request on the `http.server.request.start`
 * diagnostics channel just before the server's handler runs; entering an AsyncLocalStorage
 * store there makes the whole handling (every await in it) see that request. The relays' code
 * is untouched and never sees an address.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { subscribe } from "node:diagnostics_channel";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RequestContext {
  /** Port of the server that took the request (names the relay). */
  serverPort: number;
  /** Source address of the connection. */
  address: string;
  /** Request number, unique in this process. */
  request: number;
  /** Body bytes announced by content-length (0 when absent). */
  bytes: number;
  path: string;
}

const storage = new AsyncLocalStorage<RequestContext>();
let requests = 0;
let subscribed = false;

function onRequestStart(message: unknown): void {
  const { request, server } = message as { request: IncomingMessage; server: Server };
  const address = server.address() as AddressInfo | null;
  storage.enterWith({
    serverPort: address?.port ?? 0,
    address: request.socket.remoteAddress ?? "",
    request: ++requests,
    bytes: Number(request.headers["content-length"] ?? 0),
    path: (request.url ?? "").split("?")[0]!,
  });
}

/**
 * Starts attributing requests (idempotent); call before any relay starts.
 *
 * @example
 * watchRequests();
 * const context = currentRequest(); // inside a relay's port call
 */
export function watchRequests(): void {
  if (subscribed) return;
  subscribe("http.server.request.start", onRequestStart);
  subscribed = true;
}

/**
 * The request the running code belongs to, if any.
 *
 * @example const address = currentRequest()?.address ?? "";
 */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}
