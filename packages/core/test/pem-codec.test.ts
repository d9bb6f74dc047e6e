// PEM decoding (pem-codec.ts `fromPem`) reads untrusted input — every CSR a client sends — and finds its block and
// decodes its body in one pass without the regex it used before (≈ 3 µs per CSR). Property-based (fast-check): for
// random texts made of PEM pieces (markers, labels, base64, padding, ASCII and Unicode whitespace, stray characters,
// second blocks) and for real blocks with whitespace inserted and characters changed, `fromPem` gives the same bytes
// or the same error (code, message, details) as the regex implementation written out below, with and without a label
// and `alone`. `toPem` (64-column lines by slicing) equals the regex line split for any length.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PkiError } from '@pkim/shared';
import { fromPem, toPem } from '../src/pem-codec';

const RUNS = Number(process.env.PKIM_FUZZ_RUNS ?? 400);
const CONFIG = { numRuns: RUNS, seed: Number(process.env.PKIM_FUZZ_SEED ?? 20261203) } as const;

/** the implementation before the one-pass decoder: the reference */
function referenceFromPem(pemOrDer: string | Uint8Array, label?: string, opts: { alone?: boolean } = {}): Uint8Array {
  let text: string;
  if (typeof pemOrDer === 'string') text = pemOrDer;
  else {
    const head = Buffer.from(pemOrDer.subarray(0, 64)).toString('latin1');
    if (!head.trimStart().startsWith('-----BEGIN')) return pemOrDer;
    text = Buffer.from(pemOrDer).toString('utf8');
  }
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  const m = re.exec(text);
  if (!m) throw new PkiError('input.invalid', 'no PEM block found');
  const found = m[1];
  if (label && found !== label && !(label === 'CERTIFICATE REQUEST' && found === 'NEW CERTIFICATE REQUEST')) {
    throw new PkiError('input.invalid', `expected PEM label '${label}', found '${found}'`, {
      details: { expected: label, found },
    });
  }
  if (opts.alone && text.slice(m.index + m[0].length).trim() !== '') {
    throw new PkiError('input.invalid', 'trailing data after the PEM block (a second block or text): send one', {
      details: { trailing: true },
    });
  }
  const clean = (m[2] ?? '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0 || clean.length === 0) {
    throw new PkiError('input.invalid', 'PEM body is not valid base64');
  }
  return new Uint8Array(Buffer.from(clean, 'base64'));
}

/** the outcome of a decoder: its bytes (hex) or its error */
function outcome(run: () => Uint8Array): unknown {
  try {
    return { bytes: Buffer.from(run()).toString('hex') };
  } catch (e) {
    if (!(e instanceof PkiError)) throw e;
    return { code: e.code, message: e.message, details: e.details };
  }
}

const LABELS = ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST', 'CERTIFICATE', 'X', 'A B', 'lower'];
const WHITESPACE = [' ', '\n', '\r\n', '\t', '\v', '\f', '\u00a0', '\u2028', '\ufeff', '\u3000'];
const piece = fc.oneof(
  fc.constantFrom('-----BEGIN ', '-----END ', '-----', '----', '-', 'BEGIN', 'END'),
  fc.constantFrom(...LABELS),
  fc.constantFrom(...WHITESPACE),
  fc.constantFrom('=', '==', '===', '!', 'é', '_', '.', '\u0000'),
  fc.uint8Array({ minLength: 0, maxLength: 12 }).map((b) => Buffer.from(b).toString('base64')),
  fc.stringMatching(/^[A-Za-z0-9+/]{1,8}$/),
);
/** texts of random PEM pieces */
const pieces = fc.array(piece, { maxLength: 24 }).map((p) => p.join(''));

/** a real block (any label of LABELS), with whitespace inserted and characters replaced or cut at random */
const mangled = fc
  .record({
    der: fc.uint8Array({ minLength: 0, maxLength: 300 }),
    label: fc.constantFrom(...LABELS),
    before: fc.constantFrom('', 'explanatory text\n', '\n\n'),
    after: fc.constantFrom(
      '',
      '\n',
      '  \n\t',
      'junk',
      '\u00a0',
      '\u00a0é',
      'é',
      '\n-----BEGIN X-----\nAAAA\n-----END X-----\n',
    ),
    edits: fc.array(
      fc.record({ at: fc.nat(), kind: fc.constantFrom('insert', 'replace', 'cut'), text: fc.oneof(piece) }),
      { maxLength: 3 },
    ),
  })
  .map(({ der, label, before, after, edits }) => {
    const b64 = Buffer.from(der).toString('base64');
    let text = `${before}-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----${after}`;
    for (const e of edits) {
      const at = e.at % (text.length + 1);
      if (e.kind === 'insert') text = text.slice(0, at) + e.text + text.slice(at);
      else if (e.kind === 'replace') text = text.slice(0, at) + e.text + text.slice(at + e.text.length);
      else text = text.slice(0, at) + text.slice(at + 1 + (e.text.length % 5));
    }
    return text;
  });

const readOptions = fc.record({
  label: fc.constantFrom(undefined, 'CERTIFICATE REQUEST', 'CERTIFICATE', 'X'),
  alone: fc.boolean(),
});

describe('fromPem equals the regex implementation', () => {
  it('for random texts of PEM pieces (fast-check)', () => {
    fc.assert(
      fc.property(pieces, readOptions, (text, o) => {
        const opts = { alone: o.alone };
        expect(outcome(() => fromPem(text, o.label, opts))).toEqual(
          outcome(() => referenceFromPem(text, o.label, opts)),
        );
      }),
      CONFIG,
    );
  });

  it('for real blocks with whitespace inserted and characters changed, as text and as bytes (fast-check)', () => {
    let decoded = 0;
    fc.assert(
      fc.property(mangled, readOptions, (text, o) => {
        const opts = { alone: o.alone };
        const expected = outcome(() => referenceFromPem(text, o.label, opts));
        if ((expected as { bytes?: string }).bytes !== undefined) decoded++;
        expect(outcome(() => fromPem(text, o.label, opts))).toEqual(expected);
        const bytes = new TextEncoder().encode(text);
        expect(outcome(() => fromPem(bytes, o.label, opts))).toEqual(
          outcome(() => referenceFromPem(bytes, o.label, opts)),
        );
      }),
      CONFIG,
    );
    // the generator reaches the decoder, not only the errors
    expect(decoded).toBeGreaterThan(RUNS / 20);
  });

  it('on the edge cases of the body: padding, length, Unicode whitespace, nothing', () => {
    const block = (body: string) => `-----BEGIN X-----${body}-----END X-----`;
    for (const body of [
      '',
      '\n',
      'AA==',
      'AAA=',
      'A===',
      'AA=A',
      '====',
      'AAAA\u00a0AAAA',
      'AA\u2028==',
      'AAA',
      'AAAAA===',
    ]) {
      expect(
        outcome(() => fromPem(block(body))),
        JSON.stringify(body),
      ).toEqual(outcome(() => referenceFromPem(block(body))));
    }
    expect(outcome(() => fromPem(block('AQID')))).toEqual({ bytes: '010203' });
  });
});

describe('toPem', () => {
  it('writes 64-column lines as the regex split did, for any length (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 400 }), (der) => {
        const b64 = Buffer.from(der).toString('base64');
        const lines = b64.match(/.{1,64}/g) ?? [];
        expect(toPem(der, 'CERTIFICATE')).toBe(
          `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`,
        );
        if (der.length > 0) expect(fromPem(toPem(der, 'CERTIFICATE'), 'CERTIFICATE')).toEqual(der);
      }),
      CONFIG,
    );
  });
});
