/**
 * The processes below this one, from Linux /proc (empty elsewhere). Some runtimes are not our
 * child but a grandchild started by a library (wrangler starts workerd), so their CPU time is
 * only found by walking the tree.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface TreeProcess {
  pid: number;
  /** The kernel's short name (comm), e.g. "workerd". */
  name: string;
  /** The command line, split on NULs. */
  args: string[];
}

function parentOf(pid: string): { ppid: number; name: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may hold spaces and parentheses; the fields after the last ")" are unambiguous.
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return { ppid, name };
  } catch {
    // The process ended between readdir and read.
    return undefined;
  }
}

function argsOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Every live descendant of `root` (children, grandchildren, ...), in no particular order.
 *
 * @example const workerds = descendants(process.pid).filter((p) => p.name === "workerd");
 */
export function descendants(root: number = process.pid): TreeProcess[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [];
  }
  const children = new Map<number, { pid: number; name: string }[]>();
  for (const entry of entries) {
    const info = parentOf(entry);
    if (!info) continue;
    const list = children.get(info.ppid) ?? [];
    list.push({ pid: Number(entry), name: info.name });
    children.set(info.ppid, list);
  }
  const found: TreeProcess[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      found.push({ ...child, args: argsOf(child.pid) });
      queue.push(child.pid);
    }
  }
  return found;
}
