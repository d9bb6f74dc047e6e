/**
 * The certificate linter: runs on a plan BEFORE anything is signed. `lint.*` findings are RFC 5280 /
 * CA-practice problems, `policy.*` findings are profile violations.
 */
import { PkiError, formatLifetime, keyUsagesNotPossible } from '@pkim/shared';
import type { CertificatePlan, LintFinding, NameConstraints, SubjectAltNames } from './types';
import {
  invalidSans,
  isEmptyNameConstraints,
  isValidCidr,
  isValidDnsConstraint,
  isValidEmailConstraint,
  isValidUri,
  looksLikeDnsName,
  nameConstraintViolations,
} from './general-names';
import { serialProblem } from './serial-number';
import { profileOidProblems } from './profile-oids';
import { keyTypeNotAllowedMessage } from './profile-catalog';

const SAN_TYPES: (keyof SubjectAltNames)[] = ['dns', 'ip', 'uri', 'email'];
const count = (s: SubjectAltNames | undefined, t: keyof SubjectAltNames): number => s?.[t]?.length ?? 0;
const day = (ms: number): string => new Date(ms).toISOString();

type AddFinding = (code: string, message: string) => void;

/** The findings and their `add`: one finding once (a CN that repeats a DNS SAN, a SAN or a constraint given twice). */
function findings(): { f: LintFinding[]; add: AddFinding } {
  const f: LintFinding[] = [];
  const add = (code: string, message: string): void => {
    if (!f.some((x) => x.code === code && x.message === message)) f.push({ code, message });
  };
  return { f, add };
}

/** RFC 5280 §4.2.1.9: below an issuer with a path length, a CA certificate takes a smaller one; below 0, none. */
function lintPathLen(add: AddFinding, issuerPathLen: number, pathLen: number | null): void {
  if (issuerPathLen === 0)
    add('lint.path_length_exceeded', 'the issuer has pathLenConstraint 0 and cannot sign a CA certificate');
  else if (pathLen === null || pathLen >= issuerPathLen)
    add(
      'lint.path_length_exceeded',
      `pathLen ${pathLen ?? 'unlimited'} must be below the issuer's pathLen ${issuerPathLen}`,
    );
}

/** The syntax of a CA certificate's own name constraints (and its policy-only URI prefixes). */
function lintNameConstraintSyntax(add: AddFinding, nc: NameConstraints): void {
  for (const d of [...(nc.permittedDns ?? []), ...(nc.excludedDns ?? [])])
    if (d !== '' && !isValidDnsConstraint(d)) add('lint.invalid_san', `invalid DNS name constraint '${d}'`);
  for (const c of [...(nc.permittedIp ?? []), ...(nc.excludedIp ?? [])])
    if (!isValidCidr(c)) add('lint.invalid_san', `invalid IP name constraint '${c}' (use CIDR)`);
  for (const u of [...(nc.permittedUri ?? []), ...(nc.excludedUri ?? [])])
    if (!isValidDnsConstraint(u)) add('lint.invalid_san', `invalid URI name constraint '${u}' (a host or .domain)`);
  for (const u of nc.permittedUriPrefixes ?? [])
    if (!isValidUri(u)) add('lint.invalid_san', `invalid URI prefix constraint '${u}' (an absolute URI)`);
  for (const e of [...(nc.permittedEmail ?? []), ...(nc.excludedEmail ?? [])])
    if (!isValidEmailConstraint(e)) add('lint.invalid_san', `invalid email name constraint '${e}'`);
}

/**
 * What `lintCertificate` finds in a CA certificate that its request alone decides, before its key exists: its path
 * length below the issuer's (`issuerPathLen`: the issuer certificate's, null or undefined for none or a root) and the
 * syntax of its name constraints — the same rules, codes and messages, in the lint's order. The signing pipeline
 * checks these before it asks a key backend (an HSM, a KMIP server) for the new CA's key; the lint of the planned
 * certificate applies them again.
 */
export function lintCaRequest(r: {
  issuerPathLen?: number | null;
  pathLen: number | null;
  nameConstraints?: NameConstraints | null;
}): LintFinding[] {
  const { f, add } = findings();
  if (r.issuerPathLen !== undefined && r.issuerPathLen !== null) lintPathLen(add, r.issuerPathLen, r.pathLen);
  if (r.nameConstraints) lintNameConstraintSyntax(add, r.nameConstraints);
  return f;
}

export function lintCertificate(plan: CertificatePlan, opts: { now: number }): LintFinding[] {
  const { f, add } = findings();
  const { profile } = plan;
  const sans = plan.sans ?? {};
  const sanTotal = SAN_TYPES.reduce((n, t) => n + count(sans, t), 0);
  const issuer = plan.issuerFacts;
  const isCa = profile.isCa;

  const sp = serialProblem(plan.serial);
  if (sp) add('lint.serial_invalid', sp);

  if (!Number.isFinite(plan.notBefore) || !Number.isFinite(plan.notAfter) || plan.notBefore >= plan.notAfter) {
    add('lint.invalid_validity', `notBefore (${plan.notBefore}) must be before notAfter (${plan.notAfter})`);
  }
  if (issuer) {
    if (opts.now < issuer.notBefore)
      add('lint.invalid_validity', `the issuer is not valid before ${day(issuer.notBefore)}`);
    if (opts.now > issuer.notAfter) add('lint.invalid_validity', `the issuer expired at ${day(issuer.notAfter)}`);
    if (!issuer.isCa) add('lint.issuer_not_ca', 'the issuer certificate is not a CA (basicConstraints cA is not true)');
    else if (issuer.keyUsage && !issuer.keyUsage.includes('keyCertSign'))
      add('lint.issuer_not_ca', 'the issuer certificate lacks the keyCertSign key usage');
    if (plan.notAfter > issuer.notAfter && (isCa || !plan.permitBeyondIssuer))
      add(
        'lint.lifetime_beyond_issuer',
        `notAfter ${day(plan.notAfter)} is after the issuer's notAfter ${day(issuer.notAfter)}`,
      );
    if (isCa && issuer.pathLen !== null) lintPathLen(add, issuer.pathLen, plan.pathLen ?? null);
    const pathConstraints = [issuer.nameConstraints, ...(plan.ancestorNameConstraints ?? [])];
    // the CN read as a DNS name only when a constraint applies (most paths have none: no name split per certificate)
    let cn: string | undefined | null = null;
    for (const nc of pathConstraints) {
      if (!nc || isEmptyNameConstraints(nc)) continue;
      if (cn === null) cn = plan.subject.find((a) => a.type === 'CN' && looksLikeDnsName(a.value))?.value;
      for (const v of nameConstraintViolations(nc, sans, cn)) add('lint.name_constraints_violation', v);
    }
  }

  if (isCa && !plan.keyUsage.includes('keyCertSign'))
    add('lint.ca_flag_on_leaf', 'the CA flag is set but keyCertSign is missing (a leaf profile must not be a CA)');
  if (!isCa && (plan.keyUsage.includes('keyCertSign') || (plan.pathLen !== undefined && plan.pathLen !== null))) {
    add('lint.ca_flag_on_leaf', 'a leaf certificate must not carry keyCertSign or a path length');
  }
  if (!isCa && plan.nameConstraints && !isEmptyNameConstraints(plan.nameConstraints))
    add('lint.ca_flag_on_leaf', 'name constraints are only allowed on CA certificates');

  const notPossible = keyUsagesNotPossible(plan.subjectKeyType);
  for (const k of plan.keyUsage) {
    if (notPossible.includes(k))
      add('lint.key_usage_key_type_mismatch', `key usage ${k} is not possible with a ${plan.subjectKeyType} key`);
  }
  if (
    (plan.keyUsage.includes('encipherOnly') || plan.keyUsage.includes('decipherOnly')) &&
    !plan.keyUsage.includes('keyAgreement')
  ) {
    add('lint.key_usage_key_type_mismatch', 'encipherOnly/decipherOnly require keyAgreement');
  }
  if (plan.keyUsage.length === 0) add('lint.key_usage_key_type_mismatch', 'the key usage is empty');

  if (plan.subject.length === 0 && (sanTotal === 0 || isCa))
    add(
      'lint.empty_subject',
      isCa ? 'a CA certificate needs a non-empty subject' : 'a certificate without SAN needs a non-empty subject',
    );
  for (const bad of invalidSans(sans)) add('lint.invalid_san', `invalid subject alternative name ${bad}`);
  if (plan.nameConstraints) lintNameConstraintSyntax(add, plan.nameConstraints);
  for (const u of [...(plan.crlDistributionPoints ?? []), ...(plan.ocspUrls ?? []), ...(plan.caIssuersUrls ?? [])]) {
    if (!/^https?:\/\//i.test(u) || /\s/.test(u))
      add('lint.invalid_san', `distribution/access URL must be an http(s) URI: '${u}'`);
  }
  if (plan.extKeyUsage.includes('serverAuth') && count(sans, 'dns') + count(sans, 'ip') + count(sans, 'uri') === 0) {
    add('lint.tls_without_san', 'a TLS server certificate must carry a DNS, IP or URI subject alternative name');
  }

  // extra EKU OIDs and certificate policies (a custom profile's, or a channel's such as a Vault role's)
  if (profile.extKeyUsageOids?.length || profile.certificatePolicies?.length) {
    const { extKeyUsageOids, certificatePolicies } = profile;
    const oids = { isCa, extKeyUsage: plan.extKeyUsage, extKeyUsageOids, certificatePolicies };
    for (const m of profileOidProblems(oids)) add('lint.policy_invalid', m);
  }

  // ---- profile policy ----
  if (!profile.allowedKeyTypes.includes(plan.subjectKeyType))
    add('policy.key_type_not_allowed', keyTypeNotAllowedMessage(profile, plan.subjectKeyType));
  for (const t of SAN_TYPES) {
    if (count(sans, t) > 0 && !profile.allowedSanTypes.includes(t))
      add('policy.san_not_allowed', `profile ${profile.name} does not allow ${t} subject alternative names`);
  }
  if (profile.allowedUriSchemes) {
    for (const u of sans.uri ?? []) {
      const scheme = (u.split(':')[0] ?? '').toLowerCase();
      if (!profile.allowedUriSchemes.includes(scheme))
        add('policy.san_not_allowed', `URI scheme '${scheme}' is not allowed by profile ${profile.name}`);
    }
  }
  if (profile.maxUriSans !== undefined && count(sans, 'uri') > profile.maxUriSans)
    add('policy.san_not_allowed', `profile ${profile.name} allows at most ${profile.maxUriSans} URI SAN(s)`);
  if (profile.sanRequired && sanTotal === 0)
    add('policy.san_required', `profile ${profile.name} requires a subject alternative name`);
  for (const t of profile.requiredSanTypes ?? []) {
    if (count(sans, t) === 0 && !(profile.sanRequired && sanTotal === 0))
      add('policy.san_required', `profile ${profile.name} requires a ${t} subject alternative name`);
  }
  if (plan.notAfter - plan.notBefore > profile.maxLifetimeMs) {
    add(
      'policy.lifetime_exceeded',
      // the validity period includes the backdated minute of notBefore: 500d is reported as asked, not as 720001m
      `lifetime ${formatLifetime(plan.notAfter - plan.notBefore, 60_000)} exceeds the profile maximum of ` +
        formatLifetime(profile.maxLifetimeMs),
    );
  }
  return f;
}

/** Throws a PkiError with the first finding's code (all findings in `details.findings`) unless clean. */
export function assertLintClean(findings: LintFinding[]): void {
  const first = findings[0];
  if (first === undefined) return;
  const more = findings.length > 1 ? ` (and ${findings.length - 1} more)` : '';
  throw new PkiError(first.code, `${first.message}${more}`, { details: { findings } });
}
