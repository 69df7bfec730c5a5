/**
 * Dead letters of a relay on the embedded store, made reachable from another process: the
 * serving relay mirrors its dead-lettered batches into a directory (DATA_DIR/dead-letters) and
 * applies replay and drop requests that `shroud federation dlq` leaves there. On Redis the CLI
 * works on the queue directly instead.
 *
 *   <dir>/<id>.json        {"id", "peer", "attempts", "bytes"}   (mode 0600)
 *   <dir>/requests/<id>.replay | <id>.drop                      (written by the CLI)
 */
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FederationQueue } from "../../relay/ports/federation-queue.js";

export interface DeadLetterSummary {
  id: string;
  peer: string;
  attempts: number;
  bytes: number;
}

const ID = /^[0-9a-f]{32}$/;

/**
 * @example
 * const dead = new DeadLetterDirectory(join(dataDir, "dead-letters"));
 * await dead.sync(relay.ports.federation); // in the serving process, every few seconds
 * await dead.request("replay", id);         // in `shroud federation dlq replay`
 */
export class DeadLetterDirectory {
  /** What this process last wrote to each file (name -> contents), to write only changes. */
  readonly #written = new Map<string, string>();

  constructor(readonly dir: string) {}

  get #requests(): string {
    return join(this.dir, "requests");
  }

  /**
   * Applies pending requests, then writes the dead letters that are new or changed since the
   * last sync and removes the files of those that are gone.
   */
  async sync(queue: FederationQueue): Promise<void> {
    await mkdir(this.#requests, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.#requests)) {
      const [id, action] = name.split(".");
      if (id && ID.test(id)) {
        if (action === "replay") await queue.replay(id);
        else if (action === "drop") await queue.drop(id);
      }
      await rm(join(this.#requests, name), { force: true });
    }
    const letters = await queue.deadLetters();
    const current = new Set(letters.map((l) => `${l.id}.json`));
    for (const letter of letters) {
      const name = `${letter.id}.json`;
      const summary: DeadLetterSummary = {
        id: letter.id,
        peer: letter.peer,
        attempts: letter.attempts,
        bytes: letter.batch.length,
      };
      const text = JSON.stringify(summary);
      if (this.#written.get(name) === text) continue;
      await writeFile(join(this.dir, name), text, { mode: 0o600 });
      this.#written.set(name, text);
    }
    for (const name of await readdir(this.dir)) {
      if (name.endsWith(".json") && !current.has(name)) {
        await rm(join(this.dir, name), { force: true });
      }
    }
    for (const name of this.#written.keys()) if (!current.has(name)) this.#written.delete(name);
  }

  /** The dead letters as last mirrored by the serving relay. */
  async list(): Promise<DeadLetterSummary[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: DeadLetterSummary[] = [];
    for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
      try {
        out.push(JSON.parse(await readFile(join(this.dir, name), "utf8")) as DeadLetterSummary);
      } catch {
        // A file being rewritten by the relay right now: it will be back at the next listing.
      }
    }
    return out;
  }

  /** Leaves a request for the serving relay; false if no such dead letter is mirrored. */
  async request(action: "replay" | "drop", id: string): Promise<boolean> {
    if (!ID.test(id) || !(await this.list()).some((l) => l.id === id)) return false;
    await mkdir(this.#requests, { recursive: true, mode: 0o700 });
    await writeFile(join(this.#requests, `${id}.${action}`), "", { mode: 0o600 });
    return true;
  }
}
