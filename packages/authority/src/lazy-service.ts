interface LazyOptions<T> {
  /** members answered by the stand-in itself, the same before and after the service is made (config values) */
  fixed?: Partial<T>;
  /** methods answered without making the service while it has not been made (`settle` with nothing under way) */
  unmade?: Partial<T>;
}

/**
 * A stand-in for a service that is made on its first call: its module (a chunk of its own in the compiled CLI) and
 * whatever it imports load then, not with the authority, so `pkim ca list` loads none of the SSH CA, ACME, SPIFFE,
 * OIDC, notifications, exports or batches (start-up time, docs/benchmarks.md). Every other member of such a service
 * must be an async method: a caller cannot tell the stand-in from the service.
 */
export function lazyService<T extends object>(make: () => Promise<T>, options: LazyOptions<T> = {}): T {
  let made: Promise<T> | undefined;
  const fixed: Partial<T> = options.fixed ?? {};
  const unmade: Partial<T> = options.unmade ?? {};
  return new Proxy({} as T, {
    get(_target, name) {
      // not a thenable: `await authority.ssh` and symbol lookups see a plain object
      if (typeof name === 'symbol' || name === 'then') return undefined;
      if (Object.hasOwn(fixed, name)) return fixed[name as keyof T];
      if (!made && Object.hasOwn(unmade, name)) return unmade[name as keyof T];
      return async (...args: unknown[]) => {
        const service = await (made ??= make());
        const method = service[name as keyof T] as (...a: unknown[]) => Promise<unknown>;
        return method.apply(service, args);
      };
    },
  });
}
