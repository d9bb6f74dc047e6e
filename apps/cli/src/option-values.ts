/**
 * The values an option takes, for shell completion (`pkim completion bash|zsh`): registered with the parser that
 * checks them, so the completion offers exactly what the command accepts.
 */
interface Offer {
  values: readonly string[];
  /** the option takes a comma-separated list of them (`--events a,b`) */
  list: boolean;
}

const OFFERS = new WeakMap<object, Offer>();

/** `parse`, remembered as accepting `values` (with `list`: a comma-separated list of them) */
export function offering<F extends (value: string, previous?: never) => unknown>(
  values: readonly string[],
  parse: F,
  how: { list?: boolean } = {},
): F {
  OFFERS.set(parse, { values, list: how.list === true });
  return parse;
}

/** the values registered for an option's parser (undefined: free text, file names) */
export function offeredValues(parse: unknown): readonly string[] | undefined {
  return typeof parse === 'function' ? OFFERS.get(parse)?.values : undefined;
}

/** whether the option's parser takes a comma-separated list of its values */
export function offeredAsList(parse: unknown): boolean {
  return typeof parse === 'function' && OFFERS.get(parse)?.list === true;
}
