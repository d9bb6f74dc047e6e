type AsyncMethod = (...args: never[]) => Promise<unknown>;

/** the members of T (except `skip`) that a stand-in cannot answer: anything but an async method */
type NotAsync<T, Skip extends keyof T> = {
  [K in Exclude<keyof T, Skip>]: T[K] extends AsyncMethod ? never : K;
}[Exclude<keyof T, Skip>];

/** the members of the parts P of T that are not async methods, as `part.member` */
type PartsNotAsync<T, P extends keyof T> = {
  [K in P]: `${K & string}.${NotAsync<T[K], never> & string}`;
}[P];

/**
 * A compile-time check in the options' type: a member a stand-in cannot answer (a synchronous method, a value that
 * is neither `fixed` nor a `part`) makes the call fail to type-check, naming it.
 */
type AsyncOnly<T, F extends keyof T, P extends keyof T> = [NotAsync<T, F | P> | PartsNotAsync<T, P>] extends [never]
  ? unknown
  : { 'members a stand-in cannot answer (make them async, fixed or parts)': NotAsync<T, F | P> | PartsNotAsync<T, P> };

interface LazyOptions<T, F extends keyof T, P extends keyof T> {
  /** members answered by the stand-in itself, the same before and after the service is made (config values) */
  fixed?: Pick<T, F>;
  /** methods answered without making the service while it has not been made (`settle` with nothing under way) */
  unmade?: Partial<T>;
  /** members that are services of async methods themselves (`vault.pki`): stand-ins made with the same service */
  parts?: readonly P[];
}

/**
 * A stand-in for a service that is made on its first call: its module (a chunk of its own in the compiled CLI) and
 * whatever it imports load then, not with the authority, so `pkim ca list` loads none of the SSH CA, ACME, SPIFFE,
 * OIDC, notifications, Vault, exports or batches (start-up time, docs/benchmarks.md). Every other member of such a
 * service must be an async method (or a part made of async methods): a caller cannot tell the stand-in from the
 * service, and the options' type refuses a service with a synchronous member.
 */
export function lazyService<T extends object, F extends keyof T = never, P extends keyof T = never>(
  make: () => Promise<T>,
  options: LazyOptions<T, F, P> & AsyncOnly<T, F, P> = {} as LazyOptions<T, F, P> & AsyncOnly<T, F, P>,
): T {
  let made: Promise<T> | undefined;
  const service = () => (made ??= make());
  return standIn(service, () => made !== undefined, options as StandInOptions<T>);
}

interface StandInOptions<T> {
  fixed?: Partial<T>;
  unmade?: Partial<T>;
  parts?: readonly (keyof T)[];
}

function standIn<T extends object>(service: () => Promise<T>, isMade: () => boolean, options: StandInOptions<T>): T {
  const fixed: Partial<T> = options.fixed ?? {};
  const unmade: Partial<T> = options.unmade ?? {};
  const parts = new Map<PropertyKey, unknown>();
  for (const name of options.parts ?? []) {
    parts.set(
      name,
      standIn(async () => (await service())[name] as object, isMade, {}),
    );
  }
  return new Proxy({} as T, {
    get(_target, name) {
      // not a thenable: `await authority.ssh` and symbol lookups see a plain object
      if (typeof name === 'symbol' || name === 'then') return undefined;
      if (Object.hasOwn(fixed, name)) return fixed[name as keyof T];
      if (parts.has(name)) return parts.get(name);
      if (!isMade() && Object.hasOwn(unmade, name)) return unmade[name as keyof T];
      return async (...args: unknown[]) => {
        const made = await service();
        const method = made[name as keyof T] as (...a: unknown[]) => Promise<unknown>;
        return method.apply(made, args);
      };
    },
  });
}
