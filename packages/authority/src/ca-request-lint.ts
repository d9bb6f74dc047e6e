// The linter's CA-request rules (path length, name-constraint syntax), loaded when an external CA is created
// (`await import('./ca-request-lint')`): the linter belongs to the signing pipeline's modules, which `pkim ca list`
// and the other commands that sign nothing do not load (apps/cli/test/startup-loads.test.ts).
export { assertLintClean, lintCaRequest } from '@pkim/core';
