// The authorization matrix over HTTP (authorization-matrix-support.ts), part 2 of 4: the other half of the tRPC
// procedures × every principal; the routes outside the access table and the Vault API without credentials.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { authorizationMatrix, otherKeys, trpcKeys } from './authorization-matrix-support';

describe('authorization matrix over HTTP (every route × every principal; nothing changes on refusal)', () => {
  const matrix = authorizationMatrix();
  beforeAll(() => matrix.open());
  afterAll(() => matrix.close());

  it.each(trpcKeys(1))('tRPC %s', (path) => matrix.trpcRow(path));

  it.each(otherKeys())('without credentials: %s answers as designed and changes nothing', (key) =>
    matrix.anonymousProbe(key),
  );

  it('Vault API: every route needing a token, each of its operations, refuses an anonymous caller (403)', () =>
    matrix.vaultRefusesAnonymous());
});
