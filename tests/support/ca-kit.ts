// The CAs most tests start from: a root, and an issuing CA below it, created through a real authority (any: the
// tests' own, or the one a running server holds) and checked by openssl before a test relies on them.
import type { Actor, CaView, CreateCaInput } from '@pkim/authority';
import { TEST_ADMIN } from './test-kit';
import { opensslVerify } from './verifiers';

/** Anything with the authority's CA service (createAuthority's result, RunningServer['authority']). */
interface HasCas {
  cas: { create(input: CreateCaInput, actor: Actor): Promise<CaView> };
}

/**
 * Options of a test CA: the subject defaults to CN=<the CA's name>, the key type to EC P-256, the actor who creates
 * it to TEST_ADMIN.
 */
export type TestCaOptions = Partial<Omit<CreateCaInput, 'name' | 'parentId'>> & { actor?: Actor };

export interface TestCa {
  id: string;
  name: string;
  /** the CA certificate (PEM) */
  pem: string;
  view: CaView;
}

function asTestCa(view: CaView): TestCa {
  return { id: view.ca.id, name: view.ca.name, pem: view.certificatePem!, view };
}

/** A self-signed root CA `name`; openssl verifies it as its own trust anchor. */
export async function createRootCa(authority: HasCas, name: string, opts: TestCaOptions = {}): Promise<TestCa> {
  const { actor = TEST_ADMIN, ...input } = opts;
  const view = await authority.cas.create({ subject: { commonName: name }, keyType: 'ec-p256', ...input, name }, actor);
  const root = asTestCa(view);
  const v = opensslVerify({ leafPem: root.pem, rootPem: root.pem, purpose: 'any' });
  if (!v.ok) throw new Error(`root CA ${name} does not verify: ${v.output}`);
  return root;
}

/** An issuing CA `name` below `parent` (a root, or an intermediate below `anchor`); openssl verifies the chain. */
export async function createIssuingCa(
  authority: HasCas,
  parent: TestCa,
  name: string,
  opts: TestCaOptions & { anchor?: TestCa } = {},
): Promise<TestCa> {
  const { anchor, actor = TEST_ADMIN, ...input } = opts;
  const view = await authority.cas.create(
    { subject: { commonName: name }, keyType: 'ec-p256', ...input, name, parentId: parent.id },
    actor,
  );
  const ca = asTestCa(view);
  const v = anchor
    ? opensslVerify({ leafPem: ca.pem, chainPems: [parent.pem], rootPem: anchor.pem, purpose: 'any' })
    : opensslVerify({ leafPem: ca.pem, rootPem: parent.pem, purpose: 'any' });
  if (!v.ok) throw new Error(`CA ${name} does not verify under ${parent.name}: ${v.output}`);
  return ca;
}
