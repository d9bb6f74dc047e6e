// The README's API reference says only what the server has. rest-twins.test.ts checks that every REST twin has its
// row in "REST API reference"; here each row must be a twin as the server answers it (method, path, status,
// permission), and every `/api/v1` route the README names must be one the OpenAPI document describes: a twin, or a
// hand-written REST or SSH operation (ExtraOperation).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REST_TWINS, type RestTwin } from '@pkim/contract';
import { accessFor } from '../src/http/access-table';
import { HANDWRITTEN_REST_OPERATIONS } from '../src/transports/rest/rest-pki-plugin';
import { SSH_API_OPERATIONS } from '../src/transports/ssh/ssh-transport';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** the rows of the README's "REST API reference" table that are not what the twins say */
export function wrongRows(readme: string): string[] {
  const start = readme.indexOf('### REST API reference');
  const section = readme.slice(start, readme.indexOf('\n## ', start));
  const wrong: string[] = [];
  for (const row of section.split('\n').filter((l) => l.startsWith('| `'))) {
    const [route, procedure, status, permission] = row
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim().replace(/`/g, ''));
    const twin: RestTwin | undefined = (REST_TWINS as Record<string, RestTwin>)[procedure!];
    if (!twin) wrong.push(`${procedure}: no such twin`);
    else if (route !== `${twin.method} /api/v1${twin.path}`) wrong.push(`${procedure}: ${twin.method} ${twin.path}`);
    else if (status !== String(twin.status ?? 200)) wrong.push(`${procedure}: status ${twin.status ?? 200}`);
    else if (permission !== String(accessFor('rest', `${twin.method} /api/v1${twin.path}`)))
      wrong.push(`${procedure}: permission ${String(accessFor('rest', `${twin.method} /api/v1${twin.path}`))}`);
  }
  return wrong;
}

describe("README's API reference", () => {
  it('every row of "REST API reference" is a twin with its method, path, status and permission', () => {
    expect(README).toContain('| `GET /api/v1/cas` | `ca.list` | 200 | `ca:read` |'); // positive control
    expect(wrongRows(README)).toEqual([]);
    const changed = README.replace(
      '| `GET /api/v1/cas` | `ca.list` | 200 |',
      '| `GET /api/v1/cas` | `ca.list` | 201 |',
    );
    expect(wrongRows(changed)).toEqual(['ca.list: status 200']);
  });

  it('every /api/v1 route the README names is in the OpenAPI document', () => {
    const known = [
      ...Object.values(REST_TWINS).map((t) => `${t.method} /api/v1${t.path}`),
      ...[...HANDWRITTEN_REST_OPERATIONS, ...SSH_API_OPERATIONS].map((o) => `${o.method} ${o.path}`),
    ].map((r) => new RegExp(`^${r.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/:\w+|\{\w+\}/g, '[^/]+')}$`));
    const named = [...README.matchAll(/\b(GET|POST|PUT|DELETE) (\/api\/v1\/[\w:{}<>/.-]+)/g)]
      .map((m) => `${m[1]} ${m[2]!.replace(/<(\w+)>/g, ':$1').replace(/\/$/, '')}`)
      .filter((r) => r !== 'GET /api/v1/openapi.json' && r !== 'DELETE /api/v1/profiles');
    expect(named.length).toBeGreaterThan(120);
    expect(named.filter((r) => !known.some((k) => k.test(r)))).toEqual([]);
  });
});
