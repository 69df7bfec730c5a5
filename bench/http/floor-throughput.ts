/**
 * The same load as the HTTP deposit run, against the floor server (floor-server.ts) in a child
 * process: the rate a relay would reach if it did nothing but open and seal.
 */
import { fileURLToPath } from "node:url";
import { ManagedChild } from "../../testkit/child-process.js";
import type { Cleanup } from "../common/cleanup.js";
import { processCpuSeconds } from "../common/process-cpu.js";
import type { HttpLoadResult } from "./http-load-report.js";
import { startLoadClient } from "./load-client-process.js";

const FLOOR_SERVER = fileURLToPath(new URL("./floor-server.js", import.meta.url));
const LISTENING = /^floor listening on (http:\/\/\S+)/;

export interface FloorThroughput {
  load: HttpLoadResult;
  /** CPU seconds of the floor server in the measured window (undefined without /proc). */
  serverCpu: number | undefined;
  /** Seconds of the measured window, as this process saw it. */
  windowSeconds: number;
}

/**
 * @example const floor = await measureFloor({ seconds: 5, warmupSeconds: 1, connections: 50, inboxes: 32 }, cleanup);
 */
export async function measureFloor(
  options: { seconds: number; warmupSeconds: number; connections: number; inboxes: number },
  cleanup: Cleanup,
): Promise<FloorThroughput> {
  const server = new ManagedChild("floor server", process.execPath, [FLOOR_SERVER]);
  const stopServer = cleanup.add({
    name: "floor server",
    stop: async () => void (await server.stop("SIGTERM", 5000)),
    now: () => server.killNow(),
  });
  const url = await server.waitForLine((line) => LISTENING.exec(line)?.[1], 20_000);
  const load = startLoadClient(url, options, cleanup);
  let start: { at: number; cpu: number | undefined } | undefined;
  const result = await load.result(
    () => (start = { at: performance.now(), cpu: processCpuSeconds(server.pid) }),
  );
  const end = { at: performance.now(), cpu: processCpuSeconds(server.pid) };
  await stopServer();
  if (!start) throw new Error("the load client never reported its window start");
  return {
    load: result,
    serverCpu: start.cpu === undefined || end.cpu === undefined ? undefined : end.cpu - start.cpu,
    windowSeconds: (end.at - start.at) / 1000,
  };
}
