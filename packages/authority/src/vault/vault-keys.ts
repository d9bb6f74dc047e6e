import { computeSki, generateKeyPairAsync } from '@pkim/core';
import { readPrivateKeyPem, type KeyBackends, type Signer } from '@pkim/keys';
import { KEY_TYPE_INFO, PkiError, type Clock, type KeyType } from '@pkim/shared';
import type { CaRow, Store } from '@pkim/store';
import type { Logger } from 'pino';
import { auditEvent } from '../audit-service';
import { authorize } from '../permissions';
import type { Actor } from '../types';
import { keyIdOf, type VaultIssuerService } from './vault-issuer-service';
import { dropIssuer, issuersOfMount, type VaultMount, type VaultMountService } from './vault-mount-service';
import { parseVaultString } from './vault-params';

/** the settings key prefix of a mount's keys without an issuer: `vault.key.<mount>|<key_id>` */
export const VAULT_KEY_PREFIX = 'vault.key.';
const entryKey = (mount: string, id: string) => `${VAULT_KEY_PREFIX}${mount}|${id}`;

/** what the settings store keeps of a key (never key material: the key stays in its backend) */
interface StoredKey {
  uri: string;
  keyType: KeyType;
  name: string;
  backend: string;
  createdAt: number;
}

/** a stored key with its `key_id` (the public key's subject key identifier, hex) */
export interface VaultKey extends StoredKey {
  id: string;
}

const invalid = (m: string) => new PkiError('vault.invalid_parameter', m);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** OpenBao's key and issuer names: letters, digits, `_` and `-` */
const NAME = /^[A-Za-z0-9_-]+$/;

export interface VaultKeyServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** key custody: the key backends (generateKey, importKey, destroy) */
  keys: KeyBackends;
  mounts: Pick<VaultMountService, 'requireMount' | 'updateMount'>;
  /** the mount's CA key (`keys`/`key/:ref` of a mount whose key is its CA's, as before) */
  issuers: Pick<VaultIssuerService, 'listKeys' | 'readKey' | 'writeKey' | 'deleteKey' | 'resolve' | 'keyOwner'>;
}

/** OpenBao's `key_type`/`key_bits` of `keys/generate` (rsa 2048 by default; ec 256 or 384; ed25519) */
export function generatedKeyType(params: Record<string, unknown>): KeyType {
  const type = parseVaultString('key_type', params.key_type) || 'rsa';
  const raw = params.key_bits;
  const bits = raw === undefined || raw === '' ? 0 : Number(raw);
  if (!Number.isInteger(bits)) throw invalid(`key_bits: not a whole number: ${String(raw)}`);
  const fail = (m: string) => invalid(`Validation for key_type, key_bits failed: ${m}`);
  if (type === 'rsa') {
    const b = bits || 2048;
    if (![2048, 3072, 4096].includes(b)) throw fail(`unsupported bit length for RSA key: ${b} (2048, 3072, 4096)`);
    return `rsa-${b}` as KeyType;
  }
  if (type === 'ec') {
    const b = bits || 256;
    if (b !== 256 && b !== 384)
      throw fail(`unsupported bit length for EC key: ${b} (256, 384: P-224 and P-521 are not supported here)`);
    return b === 384 ? 'ec-p384' : 'ec-p256';
  }
  if (type === 'ed25519') return 'ed25519';
  throw fail(`unknown key type: ${type} (rsa, ec, ed25519)`);
}

/**
 * The keys of a mount that no issuer (CA) has to itself — OpenBao's `keys/generate/:type` — beside its CA's key.
 * Each is made by key custody (`keys.generateKey` in the default backend; `exported`: made here and kept by the
 * backend's `importKey`, its PEM answered once) and recorded in the mount's settings (`vault.key.<mount>|<key_id>`:
 * the key URI, type, name and backend — no key material), audited `vault.key_generated`; `key_ref` hands it to
 * `cas.create` / `cas.createExternalIntermediate` (`keyUri`). A key a CA uses cannot be deleted; an unused one is
 * destroyed in its backend; an unmount destroys the unused ones.
 */
export function createVaultKeyService(deps: VaultKeyServiceDeps) {
  const { store, clock, keys } = deps;

  async function entriesOf(mountPath: string): Promise<VaultKey[]> {
    const prefix = `${VAULT_KEY_PREFIX}${mountPath}|`;
    return (await store.settings.listByPrefix(prefix))
      .map((r) => ({ id: r.key.slice(prefix.length), ...(JSON.parse(r.value) as StoredKey) }))
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  /** the mount's CA row when it has an issuer (active or revoked CA with a certificate) */
  async function caOf(mount: VaultMount): Promise<CaRow | undefined> {
    try {
      return (await deps.issuers.resolve(mount, 'default')).ca;
    } catch (e) {
      if (e instanceof PkiError && e.code === 'vault.issuer_not_found') return undefined;
      throw e;
    }
  }

  /**
   * the mount's default key id (OpenBao's `config/keys`): the one recorded on the mount (`defaultKeyId`: the first key
   * it had, or `config/keys`), else its CA's key; `''` when that names no key of the mount (none, or deleted)
   */
  function defaultKeyOf(m: VaultMount, entries: VaultKey[], ca: CaRow | undefined): string {
    const caKey = ca ? keyIdOf(ca) : '';
    const id = m.defaultKeyId ?? caKey;
    return id && (id === caKey || entries.some((e) => e.id === id)) ? id : '';
  }

  /** a stored key by id or name; `default`: the mount's default key when it is a stored one */
  async function findEntry(mount: VaultMount, ref: string): Promise<VaultKey | undefined> {
    const entries = await entriesOf(mount.path);
    if (ref === 'default') {
      const id = defaultKeyOf(mount, entries, await caOf(mount));
      return entries.find((e) => e.id === id);
    }
    return entries.find((e) => e.id === ref) ?? entries.find((e) => e.name !== '' && e.name === ref);
  }

  /** the CA (any of the deployment) using the key, if one does */
  async function userOf(uri: string): Promise<CaRow | undefined> {
    return (await store.cas.list()).find((c) => c.keyUri === uri);
  }

  const entryView = (e: VaultKey) => ({
    key_id: e.id,
    key_name: e.name,
    key_type: KEY_TYPE_INFO[e.keyType].algorithm,
    subject_key_id: e.id.match(/../g)!.join(':'),
  });

  async function checkName(mount: VaultMount, name: string, except?: string): Promise<void> {
    if (name.toLowerCase() === 'default') throw invalid("reserved keyword 'default' can not be used as key name");
    if (!NAME.test(name)) throw invalid('key name contained invalid characters');
    const taken = (await entriesOf(mount.path)).some((e) => e.name === name && e.id !== except);
    const ca = await caOf(mount);
    if (taken || (ca?.name === name && !(await findEntry(mount, 'default')))) throw invalid('key name already in use');
  }

  /** the paths `keys/generate/:type`, `keys`, `key/:ref` (the Vault service's `issuers` answers them) */
  const paths = {
    /**
     * `POST <mount>/keys/generate/:type` (`ca:write`): `internal` (the key stays in the backend), `exported` (the
     * private key PEM in this answer, once: made here, then kept by key custody's importKey, as a server-generated
     * leaf key is handed out), `kms` refused (400: an outside KMS key reference is not taken — PKCS#11 and KMIP keys
     * are made by `pkim ca create --backend`). `key_type`/`key_bits` as OpenBao; `key_name` optional, unique.
     */
    async generateKey(
      mount: VaultMount,
      type: string,
      params: Record<string, unknown>,
      actor: Actor,
    ): Promise<Record<string, unknown>> {
      authorize(actor, 'ca:write');
      if (type === 'kms')
        throw invalid(
          'kms is not supported: PKI Manager does not take a key of an outside KMS by reference (external_key_ref); ' +
            'use "internal" (the key is made in the key backend) or "exported"',
        );
      if (type !== 'internal' && type !== 'exported') throw invalid('Unknown type of key to generate');
      if (parseVaultString('external_key_ref', params.external_key_ref))
        throw invalid('cannot specify "external_key_ref" on non-kms typed key generation request');
      const m = await deps.mounts.requireMount(mount.path);
      const name = parseVaultString('key_name', params.key_name).trim();
      if (name) await checkName(m, name);
      const keyType = generatedKeyType(params);
      const backend = 'software';
      const label = `vault-${m.path}${name ? `-${name}` : ''}`;
      let signer: Signer;
      let privateKeyPem: string | undefined;
      if (type === 'exported') {
        const pair = await generateKeyPairAsync(keyType);
        privateKeyPem = pair.privateKeyPem;
        const { pkcs8 } = readPrivateKeyPem(privateKeyPem);
        try {
          signer = await keys.importKey(backend, { keyType, label, pkcs8 });
        } finally {
          pkcs8.fill(0);
        }
      } else {
        signer = await keys.generateKey(backend, { keyType, label });
      }
      const id = hex(computeSki(signer.publicKey));
      const stored: StoredKey = { uri: signer.uri, keyType, name, backend, createdAt: clock.now() };
      // OpenBao: the first key of a mount (no default key yet) becomes its default key, in the same commit
      const hadDefault = defaultKeyOf(m, await entriesOf(m.path), await caOf(m)) !== '';
      try {
        await deps.mounts.updateMount(m.path, (cur) => {
          if (!hadDefault) cur.defaultKeyId = id;
          return {
            setSettings: { [entryKey(m.path, id)]: JSON.stringify(stored) },
            audit: [
              auditEvent(clock, actor, 'kms.key_created', signer.uri, { backend, keyType, vaultMount: m.path }),
              auditEvent(clock, actor, 'vault.key_generated', m.path, {
                keyId: id,
                keyName: name,
                keyType,
                type,
                backend,
                ...(!hadDefault && { default: true }),
              }),
            ],
          };
        });
      } catch (e) {
        await keys
          .destroy(signer.uri)
          .catch((err: unknown) =>
            deps.logger.warn(
              { err: (err as Error).message },
              'could not destroy the key of a Vault key that was not recorded',
            ),
          );
        throw e;
      }
      return {
        key_id: id,
        key_name: name,
        key_type: KEY_TYPE_INFO[keyType].algorithm,
        ...(privateKeyPem !== undefined && { private_key: privateKeyPem.trim() }),
      };
    },

    /** LIST `keys` (`ca:read`): the stored keys and the CA's key (when it is none of them); none: undefined (404) */
    async listKeys(
      mount: VaultMount,
      actor: Actor,
    ): Promise<{ keys: string[]; key_info: Record<string, unknown> } | undefined> {
      authorize(actor, 'ca:read');
      const entries = await entriesOf(mount.path);
      const ca = await caOf(mount);
      const def = defaultKeyOf(mount, entries, ca);
      // the issuers' keys that are none of the stored keys (a CA made from a stored key: listed once, stored)
      const issuerKeys = await deps.issuers.listKeys(mount, actor);
      const own = issuerKeys && {
        keys: issuerKeys.keys.filter((_, i) => !entries.some((e) => e.uri === issuerKeys.uris[i])),
        key_info: issuerKeys.key_info,
      };
      if (!entries.length && !own?.keys.length) return undefined;
      const info: Record<string, unknown> = {};
      for (const e of entries) {
        info[e.id] = {
          key_name: e.name,
          key_type: KEY_TYPE_INFO[e.keyType].algorithm,
          is_default: e.id === def,
        };
      }
      for (const id of own?.keys ?? []) info[id] = { ...(own!.key_info[id] as object), is_default: id === def };
      return { keys: [...(own?.keys ?? []), ...entries.map((e) => e.id)], key_info: info };
    },

    /** `key/:ref` (`ca:read`): a stored key by id or name, else the CA's key (id, name or `default`) */
    async readKey(mount: VaultMount, ref: string, actor: Actor): Promise<Record<string, unknown>> {
      authorize(actor, 'ca:read');
      const e = await findEntry(mount, ref);
      return e ? entryView(e) : deps.issuers.readKey(mount, ref, actor);
    },

    /** `key/:ref` POST/PATCH (`ca:write`): `key_name` renames a stored key (audited); the CA's key: as before */
    async writeKey(
      mount: VaultMount,
      ref: string,
      params: Record<string, unknown>,
      actor: Actor,
    ): Promise<Record<string, unknown>> {
      authorize(actor, 'ca:write');
      const e = await findEntry(mount, ref);
      if (!e) return deps.issuers.writeKey(mount, ref, params, actor);
      if (params.key_name === undefined) return entryView(e);
      const name = parseVaultString('key_name', params.key_name).trim();
      if (!name) throw invalid('new key name outside of valid character limits');
      await checkName(mount, name, e.id);
      const { id, ...stored } = e;
      await store.commit({
        setSettings: { [entryKey(mount.path, id)]: JSON.stringify({ ...stored, name }) },
        audit: [auditEvent(clock, actor, 'vault.key_renamed', mount.path, { keyId: id, from: e.name, to: name })],
      });
      return entryView({ ...e, name });
    },

    /**
     * `DELETE key/:ref` (`ca:write`): a stored key a CA uses is refused with OpenBao's 400, nothing changed; an
     * unused one is forgotten (`vault.key_deleted`) and destroyed in its backend (`kms.key_destroyed`, or
     * `kms.key_destroy_failed` with the key left). The CA's own key and unknown refs: as before.
     */
    async deleteKey(mount: VaultMount, ref: string, actor: Actor): Promise<void> {
      authorize(actor, 'ca:write');
      const e = await findEntry(mount, ref);
      if (!e) return deps.issuers.deleteKey(mount, ref, actor);
      const user = await userOf(e.uri);
      if (user) throw invalid(`Failed to Delete Key.  Key in Use by Issuer: ${user.id}`);
      // OpenBao: deleting the default key leaves the mount without one (config/keys `default` empty)
      await deps.mounts.updateMount(mount.path, (cur) => {
        const wasDefault = cur.defaultKeyId === e.id;
        if (wasDefault) delete cur.defaultKeyId;
        return {
          deleteSettings: [entryKey(mount.path, e.id)],
          audit: [
            auditEvent(clock, actor, 'vault.key_deleted', mount.path, {
              keyId: e.id,
              keyName: e.name,
              ...(wasDefault && { wasDefault }),
            }),
          ],
        };
      });
      await destroy([e], actor);
    },

    /** `config/keys` (`ca:read`, as OpenBao): `{default}`, the mount's default key id (`''` without one) */
    async readKeysConfig(mount: VaultMount, actor: Actor): Promise<Record<string, unknown>> {
      authorize(actor, 'ca:read');
      const m = await deps.mounts.requireMount(mount.path);
      return { default: defaultKeyOf(m, await entriesOf(m.path), await caOf(m)) };
    },

    /**
     * a `config/keys` write (`ca:write`): `default` names a key of the mount (a stored key's id or name, the CA's key
     * id or the CA's name) that becomes its default key (`vault.default_key_set`), what `…/generate/existing` takes
     * without `key_ref`; `default`, empty or a ref naming no key of the mount: OpenBao's 400, nothing changed
     */
    async writeKeysConfig(
      mount: VaultMount,
      params: Record<string, unknown>,
      actor: Actor,
    ): Promise<Record<string, unknown>> {
      authorize(actor, 'ca:write');
      const ref = parseVaultString('default', params.default).trim();
      if (!ref || ref === 'default')
        throw invalid("Invalid key specification; must be non-empty and can't be 'default'.");
      const m = await deps.mounts.requireMount(mount.path);
      const entries = await entriesOf(m.path);
      const ca = await caOf(m);
      const id =
        (entries.find((e) => e.id === ref) ?? entries.find((e) => e.name !== '' && e.name === ref))?.id ??
        (ca && (ref === keyIdOf(ca) || ref === ca.name) ? keyIdOf(ca) : undefined);
      if (!id) throw invalid(`Error resolving issuer reference: unable to find PKI key for reference: ${ref}`);
      if (defaultKeyOf(m, entries, ca) !== id)
        await deps.mounts.updateMount(m.path, (cur) => {
          const from = cur.defaultKeyId;
          cur.defaultKeyId = id;
          return { audit: [auditEvent(clock, actor, 'vault.default_key_set', m.path, { keyId: id, from })] };
        });
      return { default: id };
    },
  };

  return {
    paths,

    /**
     * `key_ref` of a generation (`root/generate/existing`, `intermediate/generate/existing`): a stored key, else an
     * issuer's key (its id, its CA's name; `default`: the mount's default key) — the new issuer shares it with those
     * using it (docs/vault-api.md "One key, several issuers")
     */
    async keyForRef(mount: VaultMount, ref: string): Promise<{ uri: string; keyType: KeyType; name: string }> {
      const m = await deps.mounts.requireMount(mount.path);
      const e = await findEntry(m, ref);
      if (e) return { uri: e.uri, keyType: e.keyType, name: e.name };
      // OpenBao's user errors (400) for a key_ref it cannot resolve
      const id = ref === 'default' ? defaultKeyOf(m, await entriesOf(m.path), await caOf(m)) : ref;
      if (!id) throw invalid('no default key currently configured');
      const owner = await deps.issuers.keyOwner(m, id);
      if (!owner) throw invalid(`unable to find PKI key for reference: ${ref}`);
      return { uri: owner.keyUri, keyType: owner.keyType, name: owner.name };
    },

    /** the stored key whose public key is `spki` (`issuers/import/bundle` with a key the mount already has) */
    async keyForPublicKey(mount: VaultMount, spki: Uint8Array): Promise<{ uri: string; keyType: KeyType } | undefined> {
      const id = hex(computeSki(spki));
      return (await entriesOf(mount.path)).find((e) => e.id === id);
    },

    /**
     * `DELETE issuer/:ref` after `cas.delete`: the mount left without its CA (`vault.mount_unbound` with `keptKeyId`)
     * and the CA's key — still in its backend — recorded as a key of the mount in the same commit (unless it was one
     * already: a CA made from a stored key), named as the CA was when that name can be a key name; the default key
     * stays the default. Nothing when the mount names another CA by now.
     */
    async unbindKeepingKey(mount: VaultMount, ca: CaRow, actor: Actor): Promise<void> {
      const entries = await entriesOf(mount.path);
      const id = keyIdOf(ca);
      const stored = entries.find((e) => e.uri === ca.keyUri);
      const nameFree =
        NAME.test(ca.name) && ca.name.toLowerCase() !== 'default' && !entries.some((e) => e.name === ca.name);
      await deps.mounts.updateMount(mount.path, (cur) => {
        if (!issuersOfMount(cur).includes(ca.id)) return undefined;
        const keptId = stored?.id ?? id;
        if (cur.caId === ca.id && defaultKeyOf(cur, entries, ca) === id) cur.defaultKeyId = keptId;
        const wasDefault = dropIssuer(cur, ca.id);
        const entry: StoredKey = {
          uri: ca.keyUri,
          keyType: ca.keyType,
          name: nameFree ? ca.name : '',
          backend: ca.keyBackend,
          createdAt: ca.createdAt,
        };
        return {
          setSettings: stored || !id ? {} : { [entryKey(cur.path, id)]: JSON.stringify(entry) },
          audit: [
            auditEvent(clock, actor, wasDefault ? 'vault.mount_unbound' : 'vault.issuer_removed', cur.path, {
              caId: ca.id,
              keptKeyId: keptId,
            }),
          ],
        };
      });
    },

    /**
     * `DELETE root` (OpenBao: every key and issuer of the mount), after the CA and its key went: the mount's stored
     * keys are forgotten with its default key (`vault.keys_deleted`) and those no CA uses destroyed in their backend —
     * not `destroyedUris`, the deleted CAs' keys that `cas.delete` destroyed already
     */
    async forgetAll(mount: VaultMount, actor: Actor, destroyedUris: string[] = []): Promise<void> {
      const entries = await entriesOf(mount.path);
      const m = await deps.mounts.requireMount(mount.path);
      if (!entries.length && m.defaultKeyId === undefined) return;
      await deps.mounts.updateMount(mount.path, (cur) => {
        delete cur.defaultKeyId;
        return {
          deleteSettings: entries.map((e) => entryKey(cur.path, e.id)),
          audit: [auditEvent(clock, actor, 'vault.keys_deleted', cur.path, { keyIds: entries.map((e) => e.id) })],
        };
      });
      const unused: VaultKey[] = [];
      for (const e of entries) if (!destroyedUris.includes(e.uri) && !(await userOf(e.uri))) unused.push(e);
      await destroy(unused, actor);
    },

    /** the mount's stored keys (unmount: those no CA uses are destroyed after the mount is gone) */
    entriesOf,

    /** after an unmount: its unused stored keys destroyed (their entries went with the mount's settings) */
    async destroyUnused(entries: VaultKey[], actor: Actor): Promise<void> {
      const unused: VaultKey[] = [];
      for (const e of entries) if (!(await userOf(e.uri))) unused.push(e);
      await destroy(unused, actor);
    },
  };

  async function destroy(entries: VaultKey[], actor: Actor): Promise<void> {
    for (const e of entries) {
      const details = { backend: e.backend, keyId: e.id };
      try {
        await keys.destroy(e.uri);
        await store.commit({ audit: [auditEvent(clock, actor, 'kms.key_destroyed', e.uri, details)] });
      } catch (err) {
        deps.logger.warn({ keyId: e.id, err: (err as Error).message }, 'could not destroy a Vault key');
        await store.commit({
          audit: [
            auditEvent(clock, actor, 'kms.key_destroy_failed', e.uri, { ...details, reason: (err as Error).message }),
          ],
        });
      }
    }
  }
}

export type VaultKeyService = ReturnType<typeof createVaultKeyService>;
