// The CAs most tests start from: a root, and an issuing CA below it, created through a real authority (any: the
// tests' own, or the one a running server holds) and checked by openssl before a test relies on them: the chain, and
// that the certificate carries the key type, path length and name constraints the test asked for.
import type { Actor, CaView, CreateCaInput } from '@pkim/authority';
import { KEY_TYPE_INFO, type KeyType } from '@pkim/shared';
import { TEST_ADMIN } from './test-kit';
import { opensslText, opensslVerify } from './verifiers';

/** Anything with the authority's CA service (createAuthority's result, RunningServer['authority']). */
interface HasCas {
  cas: { create(input: CreateCaInput, actor: Actor): Promise<CaView> };
}

/**
 * Options of a test CA: the subject defaults to CN=<the CA's name>, the key type to EC P-256 (`keyType: 'ec-p384'`…),
 * the actor who creates it to TEST_ADMIN; `pathLen` and `nameConstraints` (`{ permittedDns: ['.example.com'] }`…) go
 * into the certificate as asked. Whatever is asked is checked in openssl's reading of the certificate.
 */
export type TestCaOptions = Partial<Omit<CreateCaInput, 'name' | 'parentId'>> & {
  actor?: Actor;
  /** when openssl verifies the chain (ms since the epoch; default now): for an authority on a fixed clock */
  verifyAt?: number;
};

export interface TestCa {
  id: string;
  name: string;
  /** the CA certificate (PEM) */
  pem: string;
  view: CaView;
}

/** How `openssl x509 -text` names a key type's public key. */
function opensslKeyLine(keyType: KeyType): string {
  const info = KEY_TYPE_INFO[keyType];
  if (info.algorithm === 'ec') return `ASN1 OID: ${info.curve}`;
  if (info.algorithm === 'rsa') return `Public-Key: (${info.bits} bit)`;
  return 'ED25519 Public-Key';
}

/** The lines openssl prints for the DNS, email and URI names of a name constraint list. */
function constraintLines(nc: NonNullable<CreateCaInput['nameConstraints']>, kind: 'permitted' | 'excluded'): string[] {
  return [
    ...(nc[`${kind}Dns`] ?? []).map((v) => `DNS:${v}`),
    ...(nc[`${kind}Email`] ?? []).map((v) => `email:${v}`),
    ...(nc[`${kind}Uri`] ?? []).map((v) => `URI:${v}`),
  ];
}

/**
 * A CA certificate as openssl reads it, against what was asked: the key type, `pathlen:N`, and each DNS/email/URI
 * name constraint in its Permitted or Excluded list (IP ranges are counted: openssl prints them as address/mask).
 */
export function checkCaCertificate(ca: TestCa, input: Partial<CreateCaInput> & { keyType: KeyType }): void {
  const text = opensslText(ca.pem);
  const missing: string[] = [];
  if (!text.includes(opensslKeyLine(input.keyType))) missing.push(`key type ${input.keyType}`);
  if (typeof input.pathLen === 'number' && !text.includes(`pathlen:${input.pathLen}`))
    missing.push(`pathlen:${input.pathLen}`);
  const nc = input.nameConstraints;
  if (nc) {
    const section = /X509v3 Name Constraints:[^\n]*\n((?: {16,}.*\n?)*)/.exec(text)?.[1] ?? '';
    const [permitted = '', excluded = ''] = section.split('Excluded:');
    for (const [kind, part] of [
      ['permitted', permitted],
      ['excluded', excluded],
    ] as const) {
      const lines = part.split('\n').map((l) => l.trim());
      for (const want of constraintLines(nc, kind)) if (!lines.includes(want)) missing.push(`${kind} ${want}`);
      const ips = (kind === 'permitted' ? nc.permittedIp : nc.excludedIp)?.length ?? 0;
      if (lines.filter((l) => l.startsWith('IP:')).length !== ips) missing.push(`${ips} ${kind} IP range(s)`);
    }
  }
  if (missing.length) throw new Error(`CA ${ca.name}: openssl does not show ${missing.join(', ')}`);
}

/** openssl's -attime (epoch seconds) for a verifyAt in ms; none: now */
const attime = (ms: number | undefined) => (ms === undefined ? undefined : Math.floor(ms / 1000));

function asTestCa(view: CaView): TestCa {
  return { id: view.ca.id, name: view.ca.name, pem: view.certificatePem!, view };
}

/** A self-signed root CA `name`; openssl verifies it as its own trust anchor. */
export async function createRootCa(authority: HasCas, name: string, opts: TestCaOptions = {}): Promise<TestCa> {
  const { actor = TEST_ADMIN, verifyAt, ...asked } = opts;
  const input = { subject: { commonName: name }, keyType: 'ec-p256' as const, ...asked, name };
  const root = asTestCa(await authority.cas.create(input, actor));
  const v = opensslVerify({ leafPem: root.pem, rootPem: root.pem, purpose: 'any', atTime: attime(verifyAt) });
  if (!v.ok) throw new Error(`root CA ${name} does not verify: ${v.output}`);
  checkCaCertificate(root, input);
  return root;
}

/** An issuing CA `name` below `parent` (a root, or an intermediate below `anchor`); openssl verifies the chain. */
export async function createIssuingCa(
  authority: HasCas,
  parent: TestCa,
  name: string,
  opts: TestCaOptions & { anchor?: TestCa } = {},
): Promise<TestCa> {
  const { anchor, actor = TEST_ADMIN, verifyAt, ...asked } = opts;
  const input = { subject: { commonName: name }, keyType: 'ec-p256' as const, ...asked, name, parentId: parent.id };
  const ca = asTestCa(await authority.cas.create(input, actor));
  const at = { purpose: 'any' as const, atTime: attime(verifyAt) };
  const v = anchor
    ? opensslVerify({ leafPem: ca.pem, chainPems: [parent.pem], rootPem: anchor.pem, ...at })
    : opensslVerify({ leafPem: ca.pem, rootPem: parent.pem, ...at });
  if (!v.ok) throw new Error(`CA ${name} does not verify under ${parent.name}: ${v.output}`);
  checkCaCertificate(ca, input);
  return ca;
}

/** Options of a root + issuing pair (rootAndIssuing); each CA's subject defaults to CN=<its name>. */
export interface RootAndIssuingOptions extends Pick<TestCaOptions, 'actor' | 'verifyAt'> {
  root?: TestCaOptions;
  issuing?: TestCaOptions;
}

/**
 * The pair most tests start from: a root CA and an issuing CA below it, both checked by openssl (createRootCa,
 * createIssuingCa). `prefix` names them `<prefix>-root` and `<prefix>-issuing` (without it: `root` and `issuing`);
 * `actor` and `verifyAt` go to both, `root` and `issuing` to each.
 */
export async function rootAndIssuing(
  authority: HasCas,
  prefix?: string,
  opts: RootAndIssuingOptions = {},
): Promise<{ root: TestCa; issuing: TestCa }> {
  const { root: rootOpts, issuing: issuingOpts, ...both } = opts;
  const named = (role: string) => (prefix ? `${prefix}-${role}` : role);
  const root = await createRootCa(authority, named('root'), { ...both, ...rootOpts });
  const issuing = await createIssuingCa(authority, root, named('issuing'), { ...both, ...issuingOpts });
  return { root, issuing };
}
