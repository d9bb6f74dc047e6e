// The authorization matrix over HTTP (authorization-matrix-support.ts), part 3 of 4: half of the REST routes ×
// every principal, each admin answer checked against the OpenAPI document; the access table refusing by role
// before a REST body is parsed.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { authorizationMatrix, restKeys } from './authorization-matrix-support';

describe('authorization matrix over HTTP (every route × every principal; nothing changes on refusal)', () => {
  const matrix = authorizationMatrix();
  beforeAll(() => matrix.open());
  afterAll(() => matrix.close());

  it.each(restKeys(0))('REST %s', (key) => matrix.restRow(key));

  it('the access table refuses by role before the body is parsed (REST, every route with a body)', () =>
    matrix.restRefusesBeforeParsing());

  it('walked every operation of the OpenAPI document with the admin and each answer matched its schema', () =>
    matrix.walkedOpenApi(0));
});
