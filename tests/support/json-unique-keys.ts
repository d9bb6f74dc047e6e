// JSON.parse keeps the last of two equal keys without a word: a log line `{"msg":"a","msg":"b"}` parses. This parser
// refuses an object with a key twice (a log record must be valid JSON with unique keys, RFC 8259 §4's "SHOULD").

/** parses `text` as JSON like JSON.parse, throwing on an object that has one key twice */
export function parseJsonUniqueKeys(text: string): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at ${i} in ${text}`);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const token = (re: RegExp): string => {
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) return fail('invalid JSON');
    i += m[0].length;
    return m[0];
  };
  // a raw control character in a string: JSON.parse of the token refuses it
  const STRING = /"(?:[^"\\]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
  const SCALAR = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;
  const value = (): unknown => {
    ws();
    if (text[i] === '{') {
      i++;
      const o: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') return (i++, o);
      for (;;) {
        ws();
        const key = JSON.parse(token(STRING)) as string;
        if (Object.hasOwn(o, key)) fail(`duplicate key "${key}"`);
        ws();
        if (text[i++] !== ':') fail('expected ":"');
        o[key] = value();
        ws();
        const c = text[i++];
        if (c === '}') return o;
        if (c !== ',') fail('expected "," or "}"');
      }
    }
    if (text[i] === '[') {
      i++;
      const a: unknown[] = [];
      ws();
      if (text[i] === ']') return (i++, a);
      for (;;) {
        a.push(value());
        ws();
        const c = text[i++];
        if (c === ']') return a;
        if (c !== ',') fail('expected "," or "]"');
      }
    }
    return JSON.parse(text[i] === '"' ? token(STRING) : token(SCALAR)) as unknown;
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing text');
  return v;
}
