/**
 * Reverse lookup over the protocol's `as const` ID tables (request kinds, statuses): the name a
 * wire value has, for messages and metrics.
 */

/**
 * @example enumName(RelayStatus, 3) // "forbidden"
 */
export function enumName<T extends Record<string, number>>(table: T, value: number): keyof T {
  for (const [name, code] of Object.entries(table)) {
    if (code === value) return name as keyof T;
  }
  throw new RangeError("value not in the table");
}
