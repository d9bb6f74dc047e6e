#!/usr/bin/env node
// `npm audit --omit=dev` for CI (issue #9): fails on high or critical advisories in production dependencies.
// When the registry's audit endpoint cannot be reached (offline, or a mirror that serves only GET/HEAD and
// answers the bulk-advisory POST with 405), it says so loudly and passes — unless PKIM_AUDIT_REQUIRED=1, which
// makes an unreachable endpoint fail too. `npm run audit:prod` runs it; .ci/run runs it before the tests.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Classifies the JSON of `npm audit --json`: { outcome: 'clean' | 'vulnerable' | 'unreachable', … }. */
export function classifyAudit(text) {
  let report;
  try {
    report = JSON.parse(text);
  } catch {
    return { outcome: 'unreachable', reason: 'npm audit printed no JSON report' };
  }
  const counts = report?.metadata?.vulnerabilities;
  if (!counts || typeof counts !== 'object') {
    const reason = report?.message ?? report?.error?.summary ?? 'no vulnerability counts in the report';
    return { outcome: 'unreachable', reason: String(reason) };
  }
  const serious = Object.entries(report.vulnerabilities ?? {})
    .filter(([, v]) => v && (v.severity === 'high' || v.severity === 'critical'))
    .map(([name, v]) => ({
      name,
      severity: v.severity,
      range: v.range,
      advisories: (v.via ?? []).filter((x) => typeof x === 'object').map((x) => x.url ?? x.title),
    }));
  const high = Number(counts.high ?? 0) + Number(counts.critical ?? 0);
  return high > 0 || serious.length > 0 ? { outcome: 'vulnerable', counts, serious } : { outcome: 'clean', counts };
}

function main() {
  const r = spawnSync('npm', ['audit', '--omit=dev', '--json'], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const result = r.error
    ? { outcome: 'unreachable', reason: `npm audit could not run: ${r.error.message}` }
    : classifyAudit(r.stdout ?? '');
  if (result.outcome === 'clean') {
    const c = result.counts;
    console.log(
      `npm audit --omit=dev: no high or critical advisories (moderate ${c.moderate ?? 0}, low ${c.low ?? 0})`,
    );
    return 0;
  }
  if (result.outcome === 'vulnerable') {
    console.error('npm audit --omit=dev: high or critical advisories in production dependencies:');
    for (const v of result.serious) {
      console.error(`  ${v.severity} ${v.name} ${v.range ?? ''} ${v.advisories.join(' ')}`);
    }
    return 1;
  }
  const required = process.env.PKIM_AUDIT_REQUIRED === '1';
  console.error(
    `npm audit --omit=dev: the registry's audit endpoint could not be reached (${result.reason}); ` +
      `production dependencies were NOT audited${required ? ' (PKIM_AUDIT_REQUIRED=1: failing)' : ''}`,
  );
  return required ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exit(main());
