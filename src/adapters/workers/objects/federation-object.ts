/**
 * What a relay owes its peers, on Workers: held slots, claims, and the batches handed to the
 * federation queue with their failed attempts, plus the dead letters. The queue message carries
 * only the batch id; the batch waits here, so a batch of any size fits the queue's message limit
 * and its attempts are counted where replay and drop can see them. The books themselves are
 * SqlFederationStore's (src/adapters/sql), shared with the embedded SQLite store.
 */
import { DurableObject } from "cloudflare:workers";
import type { DeadLetter, OutboundClaim } from "../../../relay/ports/federation-queue.js";
import { createFederationTables } from "../../sql/federation-tables.js";
import { SqlFederationStore, type Outbound } from "../../sql/sql-federation-store.js";
import { durableSql } from "./durable-sql-driver.js";
import { migrateOnStart, type Migration } from "./schema-migrations.js";

/** The federation object's tables, oldest version first (see schema-migrations.ts). */
export const FEDERATION_SCHEMA: readonly Migration[] = [{ version: 1, up: createFederationTables }];

export class FederationObject extends DurableObject<object> {
  readonly #store: SqlFederationStore;

  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.#store = new SqlFederationStore(durableSql(ctx.storage));
    migrateOnStart(ctx, "federation", FEDERATION_SCHEMA);
  }

  hold(peer: string, slot: Uint8Array): void {
    this.#store.hold(peer, slot);
  }

  /** Moves up to `max` held slots of `peer` into claim `id`; an empty claim is not stored. */
  claim(id: string, peer: string, max: number): Uint8Array[] {
    return this.#store.claim(id, peer, max);
  }

  unsent(): OutboundClaim[] {
    return this.#store.unsent();
  }

  /**
   * Forgets claim `id` and keeps its batch for delivery, not yet enqueued; false if this claim
   * id was sent before (a rebuilt batch), which is then dropped.
   */
  prepare(id: string, peer: string, batch: Uint8Array): boolean {
    return this.#store.prepare(id, peer, batch);
  }

  /** Marks a batch as handed to the queue. */
  enqueued(id: string): void {
    this.#store.enqueued(id);
  }

  /** Batches whose queue message was never sent (the sender failed after `prepare`). */
  notEnqueued(): string[] {
    return this.#store.notEnqueued();
  }

  outbound(id: string): Outbound | undefined {
    return this.#store.outbound(id);
  }

  delivered(id: string): void {
    this.#store.delivered(id);
  }

  /** Counts a failed attempt (see SqlFederationStore.failed). */
  failed(
    id: string,
    maxAttempts: number,
    maxDeadLetters?: number,
  ): { attempts: number; dead: boolean; dropped: number } | undefined {
    return this.#store.failed(id, maxAttempts, maxDeadLetters);
  }

  /** Makes a batch the platform gave up on a dead letter (see SqlFederationStore.kill). */
  kill(id: string, maxDeadLetters?: number): { peer: string; dropped: number } | undefined {
    return this.#store.kill(id, maxDeadLetters);
  }

  deadLetters(): DeadLetter[] {
    return this.#store.deadLetters();
  }

  /** Puts a dead letter back for delivery with fresh attempts (not yet enqueued). */
  revive(id: string): boolean {
    return this.#store.revive(id);
  }

  drop(id: string): boolean {
    return this.#store.drop(id);
  }

  peersWithTraffic(): string[] {
    return this.#store.peersWithTraffic();
  }
}
