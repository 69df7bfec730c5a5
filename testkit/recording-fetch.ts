/** A fetch that records the sizes (and bodies) of what crosses the wire to /v1/relay. */

export interface Exchange {
  path: string;
  requestLength: number;
  status: number;
  responseLength: number;
  requestBody?: Uint8Array;
}

/** A fetch that records every /v1/relay exchange's sizes (and bodies, for replay tests). */
export function recordingFetch(log: Exchange[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : input.toString());
    if (url.pathname !== "/v1/relay") return response;
    const body = new Uint8Array(await response.arrayBuffer());
    const requestBody: Uint8Array | undefined =
      init?.body instanceof Uint8Array ? new Uint8Array(init.body) : undefined;
    log.push({
      path: url.pathname,
      requestLength: requestBody?.length ?? -1,
      status: response.status,
      responseLength: body.length,
      ...(requestBody ? { requestBody } : {}),
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
}
