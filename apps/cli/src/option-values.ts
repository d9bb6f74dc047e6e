/**
 * The values an option takes, for shell completion (`pkim completion bash|zsh`): registered with the parser that
 * checks them, so the completion offers exactly what the command accepts.
 */
const VALUES = new WeakMap<object, readonly string[]>();

/** `parse`, remembered as accepting `values` */
export function offering<F extends (value: string, previous?: never) => unknown>(
  values: readonly string[],
  parse: F,
): F {
  VALUES.set(parse, values);
  return parse;
}

/** the values registered for an option's parser (undefined: free text, file names) */
export function offeredValues(parse: unknown): readonly string[] | undefined {
  return typeof parse === 'function' ? VALUES.get(parse) : undefined;
}
