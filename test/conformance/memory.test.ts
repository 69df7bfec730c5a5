import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { memoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { FileKeyStore } from "../../src/adapters/node/file-key-store.js";
import { describePortConformance } from "./port-conformance.js";

describePortConformance("memory", async () => memoryPorts(), {
  capped: async (maxInboxes) => memoryPorts({ inboxes: { maxInboxes } }),
});

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describePortConformance("memory + file key store", async () => {
  const dir = await mkdtemp(join(tmpdir(), "shroud-keys-"));
  dirs.push(dir);
  return memoryPorts({ keys: new FileKeyStore(join(dir, "data")) });
});
