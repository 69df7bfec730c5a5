/**
 * Recording what a relay does through its ports without changing them (the demo's and the
 * privacy harness's operator views).
 */
/** For each hooked method of a port: what to do with its arguments and result. */
export type PortHooks<T> = {
  [K in keyof T]?: T[K] extends (...args: infer A) => Promise<infer R>
    ? (args: A, result: R) => void
    : never;
};

/**
 * A port whose hooked methods report their arguments and result after the real call; every
 * other member passes through, so a port that grows methods keeps working unrecorded.
 *
 * @example const inboxes = tap(ports.inboxes, { fetch: ([inboxId], page) => record(inboxId, page) });
 */
export function tap<T extends object>(port: T, hooks: PortHooks<T>): T {
  return new Proxy(port, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      const hook = (
        hooks as Record<PropertyKey, ((args: unknown[], r: unknown) => void) | undefined>
      )[property];
      const method = value as (...args: unknown[]) => unknown;
      if (!hook) return method.bind(target);
      return async (...args: unknown[]) => {
        const result = await method.apply(target, args);
        hook(args, result);
        return result;
      };
    },
  });
}
