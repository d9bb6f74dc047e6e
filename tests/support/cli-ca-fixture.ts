// The CA pair most CLI tests start from: `pkim ca create` of a root, then of an issuing CA under it, each with
// --json and checked to exit 0 (cert-batch-cli, cert-export-cli, cli-flow, remote-cli, multi-instance).
import { expect } from 'vitest';
import type { CliResult } from './cli-runner';

export interface CliCaSpec {
  name: string;
  subject: string;
  /** --key-type (default: the CLI's) */
  keyType?: string;
  /** more `ca create` options, e.g. ['--path-len', '0', '--permit-dns', '.example.com'] */
  options?: string[];
}

/** what `pkim ca create --json` prints (the fields the tests read) */
export interface CliCaJson {
  id: string;
  pathLen?: number | null;
  [field: string]: unknown;
}

/** the `pkim ca create` arguments of `spec`, under `parent` (a CA name or id) when given */
export function caCreateArgs(spec: CliCaSpec, parent?: string): string[] {
  return [
    'ca',
    'create',
    '--name',
    spec.name,
    ...(parent ? ['--parent', parent] : []),
    '--subject',
    spec.subject,
    ...(spec.keyType ? ['--key-type', spec.keyType] : []),
    ...(spec.options ?? []),
    '--json',
  ];
}

function created(r: CliResult): CliCaJson {
  expect(r.code, r.stderr).toBe(0);
  return r.json<CliCaJson>();
}

/** the root, then the issuing CA with `--parent <root id>` (`parentBy: 'name'`: the root's name) */
export function createRootAndIssuing(
  pkim: (...args: string[]) => CliResult,
  root: CliCaSpec,
  issuing: CliCaSpec,
  parentBy: 'id' | 'name' = 'name',
): { root: CliCaJson; issuing: CliCaJson } {
  const r = created(pkim(...caCreateArgs(root)));
  return { root: r, issuing: created(pkim(...caCreateArgs(issuing, parentBy === 'id' ? r.id : root.name))) };
}

/** createRootAndIssuing with an asynchronous runner (runPkimAsync) */
export async function createRootAndIssuingAsync(
  pkim: (...args: string[]) => Promise<CliResult>,
  root: CliCaSpec,
  issuing: CliCaSpec,
): Promise<{ root: CliCaJson; issuing: CliCaJson }> {
  const r = created(await pkim(...caCreateArgs(root)));
  return { root: r, issuing: created(await pkim(...caCreateArgs(issuing, root.name))) };
}
