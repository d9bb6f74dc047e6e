// The authorization matrix over HTTP (authorization-matrix-support.ts), part 1 of 4: the rows agree with the running
// app's routes and procedures and with the access table; half of the tRPC procedures × every principal; the
// access table refusing by role before a tRPC input is parsed.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { authorizationMatrix, trpcKeys } from './authorization-matrix-support';

describe('authorization matrix over HTTP (every route × every principal; nothing changes on refusal)', () => {
  const matrix = authorizationMatrix();
  beforeAll(() => matrix.open());
  afterAll(() => matrix.close());

  it('has a row for every route of the running app and every tRPC procedure, and the access table agrees', () =>
    matrix.rowsAndTablesAgree());

  it.each(trpcKeys(0))('tRPC %s', (path) => matrix.trpcRow(path));

  it('the access table refuses by role before the input is parsed (tRPC, every procedure with an input)', () =>
    matrix.trpcRefusesBeforeParsing());
});
