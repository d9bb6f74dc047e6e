// The authorization matrix over HTTP (authorization-matrix-support.ts), part 4 of 4: the other half of the REST
// routes × every principal, each admin answer checked against the OpenAPI document.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { authorizationMatrix, restKeys } from './authorization-matrix-support';

describe('authorization matrix over HTTP (every route × every principal; nothing changes on refusal)', () => {
  const matrix = authorizationMatrix();
  beforeAll(() => matrix.open());
  afterAll(() => matrix.close());

  it.each(restKeys(1))('REST %s', (key) => matrix.restRow(key));

  it('walked every operation of the OpenAPI document with the admin and each answer matched its schema', () =>
    matrix.walkedOpenApi(1));
});
