/**
 * Names of a relay's Durable Objects. Every name starts with the relay's instance name, so one
 * Worker (or one test run) can hold several independent relays side by side.
 */

/** One object per inbox; `inbox` is the inbox id in hex. */
export const inboxName = (instance: string, inbox: string) => `${instance}/inbox/${inbox}`;
export const roundName = (instance: string) => `${instance}/round`;
export const replayName = (instance: string, shard: number) => `${instance}/replay/${shard}`;
export const expiryName = (instance: string) => `${instance}/expiry`;
export const keyRingName = (instance: string) => `${instance}/keys`;
export const metricsName = (instance: string) => `${instance}/metrics`;
export const federationName = (instance: string) => `${instance}/federation`;
