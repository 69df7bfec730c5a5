import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { sqlitePorts, type SqlitePorts } from "../../src/adapters/sqlite/sqlite-ports.js";
import { describeFederationQueueConformance } from "./federation-conformance.js";

const dirs: string[] = [];
const opened: SqlitePorts[] = [];
afterAll(async () => {
  for (const ports of opened) await ports.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** The federation queue of a store in `dir` (a second call: a second process on the file). */
function queueIn(dir: string) {
  const ports = sqlitePorts({ dataDir: dir });
  opened.push(ports);
  return ports.federation;
}

describeFederationQueueConformance(
  "sqlite",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "shroud-sqlite-fed-"));
    dirs.push(dir);
    return { queue: queueIn(dir), reopen: async () => queueIn(dir) };
  },
  // Every write is an fsync on a busy disk; a retry may be that much late.
  { durable: true, lateMs: 150 },
);
