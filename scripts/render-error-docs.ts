// Renders docs/errors.md from ERROR_CATALOG (`npm run docs:errors`); a test keeps them in sync.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CATALOG, HTTP_STATUS_BY_KIND } from '@pkim/shared';
import { EXIT_CODES } from '../apps/cli/src/cli-context';

export function renderErrorDocs(): string {
  const lines = [
    '# Error codes',
    '',
    'Every failure carries a stable `code` (below), a human `message`, and a `kind` that each transport',
    'maps once: REST `{ code, message, requestId }` with the HTTP status, tRPC error code with `data.pkiCode`,',
    'Vault-compatible `{ "errors": [...] }`, and the CLI exit code with a one-line `error: <code>: <message>`.',
    '',
    'Generated from `packages/shared/src/errors.ts` by `npm run docs:errors`; a test fails when this page is stale.',
    '',
    '| code | kind | HTTP | CLI exit | meaning |',
    '|---|---|---:|---:|---|',
  ];
  for (const [code, e] of Object.entries(ERROR_CATALOG).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(
      `| \`${code}\` | ${e.kind} | ${HTTP_STATUS_BY_KIND[e.kind]} | ${EXIT_CODES[e.kind]} | ` +
        `${e.description.replace(/\|/g, '\\|')} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorDocs());
  console.log('docs/errors.md written');
}
