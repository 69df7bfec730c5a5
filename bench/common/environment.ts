/** What the figures were measured on. */
import { availableParallelism, cpus as cpuList } from "node:os";
import { arch, platform, version } from "node:process";

export interface Environment {
  node: string;
  cpus: number;
  cpuModel: string;
  platform: string;
  date: string;
}

export function environment(): Environment {
  const cpus = cpuList();
  return {
    node: version,
    cpus: availableParallelism(),
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    platform: `${platform}/${arch}`,
    date: new Date().toISOString(),
  };
}
