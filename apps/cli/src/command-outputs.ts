// What local and remote mode share when a command writes or prints its result: the default CA name, the files of an
// issued certificate, a CRL. Kept out of the command modules: a command module loaded by `import()` (command-tree.ts)
// and also imported statically elsewhere becomes two files in the compiled CLI (the module and a facade).
import type { CaCrlDto, CaRotateOutputDto, CaViewDto, ProfileSummaryDto } from '@pkim/contract';
import type { CliContext } from './cli-context';
import { writeOutputFile } from './output-files';
import { keyValues, lifetimeText } from './format';

/** `ca create` without --name: the CN of the subject, made a name (`CN=Example Root CA` → `Example-Root-CA`) */
export function defaultName(subject: string): string {
  const cn = /(?:^|[,/])\s*CN=([^,/]+)/i.exec(subject)?.[1] ?? 'ca';
  return (
    cn
      .trim()
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 64) || 'ca'
  );
}

export interface IssueOutputs {
  out?: string;
  outCert?: string;
  outKey?: string;
  outChain?: string;
}

export function writeIssued(
  o: IssueOutputs,
  issued: { certificatePem: string; chainPem: string; privateKeyPem?: string },
): string[] {
  const written: string[] = [];
  const certPath = o.outCert ?? o.out;
  if (certPath) {
    writeOutputFile(certPath, issued.certificatePem);
    written.push(certPath);
  }
  if (o.outChain) {
    writeOutputFile(o.outChain, issued.chainPem);
    written.push(o.outChain);
  }
  if (o.outKey && issued.privateKeyPem) {
    writeOutputFile(o.outKey, issued.privateKeyPem, 0o600);
    written.push(o.outKey);
  }
  return written;
}

export interface CrlOptions {
  ca: string;
  out?: string;
  pem?: boolean;
}

/** writes the CRL (--out: DER unless --pem) and prints it as the contract has it: local and remote mode alike */
export async function printCrl(ctx: CliContext, crl: CaCrlDto, o: CrlOptions): Promise<void> {
  if (o.out) {
    const { fromPem } = await import('./lazy/core-runtime');
    writeOutputFile(o.out, o.pem ? crl.pem : fromPem(crl.pem, 'X509 CRL'));
  }
  ctx.output(
    { ...crl, out: o.out ?? null, pem: o.out ? undefined : crl.pem },
    () =>
      `${keyValues([
        ['CA', crl.caId],
        ['CRL number', crl.crlNumber],
        ['this update', crl.thisUpdate],
        ['next update', crl.nextUpdate],
        ['written', o.out],
      ])}${o.out ? '' : `\n\n${crl.pem}`}`,
  );
}

/** `ca set-leaf-not-after`'s line, local and remote alike */
export function leafNotAfterText(name: string, id: string, behavior: string): string {
  const what: Record<string, string> = {
    err: 'refused',
    truncate: "cut at the CA's notAfter",
    permit: 'signed as asked',
  };
  return `CA ${name} (${id}): a leaf asked past its notAfter is ${what[behavior] ?? behavior} (${behavior})`;
}

/**
 * `ca delete`'s line: whether the key was destroyed is what the backend did, not what was asked; a key other CAs use
 * too (`keyInUseBy`: Vault issuers on one `key_ref`) is kept for them — the CA is deleted, exit 0, no failure
 */
export function caDeletedText(
  ref: string,
  destroyKey: boolean,
  keyDestroyed: boolean,
  keyInUseBy?: readonly { name: string }[],
): string {
  if (!destroyKey) return `CA ${ref} deleted`;
  if (keyDestroyed) return `CA ${ref} deleted and its key destroyed`;
  if (keyInUseBy?.length)
    return (
      `CA ${ref} deleted; its key is kept: CA ${keyInUseBy.map((c) => c.name).join(', ')} use it too ` +
      '(the last of them deleted with --destroy-key destroys it)'
    );
  return (
    `CA ${ref} deleted, but its key could not be destroyed: it is left in its key backend ` +
    '(audit event kms.key_destroy_failed has the reason)'
  );
}

/**
 * the files of `ca renew` and `ca rotate`, local and remote alike (before the output, `--json` or text): `out` the CA's
 * new certificate, `crossOut` a rotated root's cross certificate
 */
export function writeCaFiles(
  v: { certificatePem: string | null; crossCertificatePem?: string | null },
  out?: string,
  crossOut?: string,
): void {
  if (out && v.certificatePem) writeOutputFile(out, v.certificatePem);
  if (crossOut && v.crossCertificatePem) writeOutputFile(crossOut, v.crossCertificatePem);
}

/**
 * `ca renew`'s text, local and remote alike (from the CA view the API answers): the new certificate (serial, dates)
 * and the one it replaced, now in the CA's history; `out`: where its PEM was written
 */
export function caRenewedText(v: CaViewDto, out?: string): string {
  const previous = v.history.filter((h) => h.kind === 'previous').at(-1);
  return keyValues([
    ['CA', `${v.name} (${v.id}) renewed`],
    ['serial', v.serial ?? '-'],
    ['valid', `${v.notBefore ?? '-'} → ${v.notAfter ?? '-'}`],
    ['issuer', v.issuer],
    ['previous', previous ? `serial ${previous.serial}, valid until ${previous.notAfter} (kept in its history)` : '-'],
    ...(out ? ([['written', out]] as [string, string][]) : []),
  ]);
}

/** `ca revoke-cross`'s text, local and remote alike: the cross certificate revoked, the successor as it stays */
export function crossRevokedText(v: CaViewDto): string {
  const cross = v.history.find((h) => h.kind === 'cross');
  return keyValues([
    [
      'cross',
      `serial ${cross?.serial ?? '-'} revoked (${cross?.revocationReason ?? '-'}) at ${cross?.revokedAt ?? '-'}`,
    ],
    ['issuer', `${cross?.issuer ?? '-'} (${cross?.issuerCaId ?? '-'}): its CRL lists it, its OCSP answers revoked`],
    ['CA', `${v.name} (${v.id}) ${v.status}`],
  ]);
}

/**
 * `ca rotate`'s text, local and remote alike: the successor (name, key, serial, dates), a root's cross certificate
 * and the predecessor's status; `out`, `crossOut`: where the successor's and the cross certificate were written
 */
export function caRotatedText(v: CaRotateOutputDto, out?: string, crossOut?: string): string {
  const cross = v.history.find((h) => h.kind === 'cross');
  return keyValues([
    ['CA', `${v.predecessor.name} (${v.predecessor.id}) rotated to ${v.name} (${v.id})`],
    ['subject', v.subject],
    ['key', `${v.keyType} (${v.keyBackend})`],
    ['serial', v.serial ?? '-'],
    ['valid', `${v.notBefore ?? '-'} → ${v.notAfter ?? '-'}`],
    ['cross certificate', cross ? `serial ${cross.serial}, signed by ${cross.issuer}, until ${cross.notAfter}` : '-'],
    ['predecessor', `${v.predecessor.status}${v.predecessor.status === 'active' ? ' (disable it when done)' : ''}`],
    ...(out ? ([['written', out]] as [string, string][]) : []),
    ...(crossOut && v.crossCertificatePem ? ([['cross written', crossOut]] as [string, string][]) : []),
  ]);
}

/** one certificate policy of a profile: `1.2.3 (CPS https://…, notice "…")` */
function policyText(c: ProfileSummaryDto['certificatePolicies'][number]): string {
  const q = [...(c.cps ? [`CPS ${c.cps}`] : []), ...(c.notice ? [`notice ${JSON.stringify(c.notice)}`] : [])];
  return q.length ? `${c.oid} (${q.join(', ')})` : c.oid;
}

/** the rows of fields that are set (a profile's optional SAN rules: absent when null) */
const optionalRows = (rows: [string, string | number | null][]): [string, string | number][] =>
  rows.filter((r): r is [string, string | number] => r[1] !== null);

/** `profile show`'s text, local and remote alike: from the profile summary the API answers (`--json` prints it) */
export function profileText(p: ProfileSummaryDto): string {
  return keyValues([
    ['name', p.name],
    ['source', p.source],
    ['description', p.description],
    ['CA', p.isCa ? 'yes' : 'no'],
    ['key usage', p.keyUsage.join(', ')],
    ['RSA key usage', p.rsaKeyUsage.join(', ') || '-'],
    ['extended key usage', [...p.extKeyUsage, ...p.extKeyUsageOids].join(', ')],
    ['certificate policies', p.certificatePolicies.map(policyText).join('; ') || '-'],
    ...(p.isCa ? [['path length', p.pathLen ?? 'unlimited'] as [string, string | number]] : []),
    ['SAN types', p.allowedSanTypes.join(', ')],
    ['SAN required', p.sanRequired ? 'yes' : 'no'],
    ...optionalRows([
      ['SAN types required', p.requiredSanTypes.length ? p.requiredSanTypes.join(', ') : null],
      ['URI schemes', p.allowedUriSchemes?.join(', ') ?? null],
      ['max URI SANs', p.maxUriSans],
      ['max SANs', p.maxSans],
      ['max SAN bytes', p.maxSanBytes],
    ]),
    ['key types', p.allowedKeyTypes.join(', ')],
    ['default lifetime', lifetimeText(p.defaultLifetime)],
    ['max lifetime', lifetimeText(p.maxLifetime)],
    ['key reuse', p.allowKeyReuse ? 'allowed' : 'no'],
    // a profile of the profiles file, or stored before such profiles were refused, that cannot issue for a key type
    ...p.warnings.map((w): [string, string] => ['warning', w]),
  ]);
}
