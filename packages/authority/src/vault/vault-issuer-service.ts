import { KEY_TYPE_INFO, LEAF_NOT_AFTER_BEHAVIORS, PkiError, type LeafNotAfterBehavior } from '@pkim/shared';
import type { CaRow } from '@pkim/store';
import { authorize } from '../permissions';
import type { Actor, CaRevocationService, CaService } from '../types';
import {
  checkPlainUrls,
  expandUrlTemplates,
  issuersOfMount,
  pickUrlLists,
  type VaultMount,
  type VaultMountService,
  type VaultUrlsConfig,
} from './vault-mount-service';
import { parseVaultBool, parseVaultList, parseVaultString, toVaultSerial } from './vault-params';
import { mountCaChain } from './vault-pki-service';

/**
 * An issuer of a mount (Vault 1.11+ / OpenBao multi-issuer API): a CA of PKI Manager. A mount has several (its
 * `issuerIds`) and one default (`caId`); an issuer's `issuer_id` is the CA id (`ca_…`, stable, the same id
 * `cert/:serial` answers as `issuer_id`), its `issuer_name` the CA's name. `:ref` is that id, that name or `default`.
 */
export interface VaultIssuer {
  ca: CaRow;
  /** the CA certificate, trimmed */
  certificate: string;
  /** the CA, then its issuers up to the root — the deployment's own parents or the outside issuer chain (one source) */
  caChain: string[];
}

/**
 * what `issuer/:ref` POST (OpenBao's pathUpdateIssuer: a replace) takes for a field it is not given: its field's
 * default. An issuer without URLs of its own follows `config/urls`, as in OpenBao.
 */
const POST_DEFAULTS: Record<string, unknown> = {
  leaf_not_after_behavior: 'err',
  enable_aia_url_templating: false,
  issuing_certificates: [],
  crl_distribution_points: [],
  ocsp_servers: [],
  delta_crl_distribution_points: [],
};

/** OpenBao's usages of an issuer that can do everything (`issuing-certificates`, `crl-signing`, `ocsp-signing`). */
const USAGE = 'crl-signing,issuing-certificates,ocsp-signing,read-only';
/** a revoked issuer (OpenBao drops `issuing-certificates`): its CRL and OCSP answers go on, it issues nothing more */
const REVOKED_USAGE = 'crl-signing,ocsp-signing,read-only';
/** OpenBao's answer to a usage with `issuing-certificates` — a POST without `usage` too — on a revoked issuer */
const REVOKED_NO_ISSUING =
  'This issuer was revoked; unable to modify its usage to include certificate signing again. Reissue this ' +
  'certificate (preferably with a new key) and modify that entry instead.';

export interface VaultIssuerServiceDeps {
  cas: CaService;
  /** `issuer/:ref/revoke`: the CA revocation, without cascade (the one door of CA revocations) */
  revocation: CaRevocationService;
  /**
   * the mount's issuers: `removeIssuer` (`DELETE root`), `setDefaultIssuer` (`config/issuers`), `issuerView`,
   * `setIssuerUrls` (an issuer's own URLs)
   */
  mounts: Pick<VaultMountService, 'removeIssuer' | 'setDefaultIssuer' | 'issuerView' | 'setIssuerUrls'>;
  /** `DELETE issuer/:ref`: the issuer removed, the deleted CA's key kept as a key of the mount (OpenBao keeps it) */
  unbindKeepingKey(mount: VaultMount, ca: CaRow, actor: Actor): Promise<void>;
}

/** OpenBao's warning of `DELETE root` */
const DELETE_ROOT_WARNING =
  'DELETE /root deletes all keys and issuers; prefer the new DELETE /key/:key_ref and DELETE /issuer/:issuer_ref ' +
  'for finer granularity, unless removal of all keys and issuers is desired.';

export function createVaultIssuerService(deps: VaultIssuerServiceDeps) {
  /** the issuer of CA `caId`, or undefined while that CA has no certificate (pending) or is gone */
  async function issuerById(mount: VaultMount, caId: string): Promise<VaultIssuer | undefined> {
    const found = caId ? await mountCaChain(deps.cas, { ...mount, caId }) : undefined;
    return found && { ca: found.ca, certificate: found.caPem, caChain: found.chain };
  }

  /** the mount's default issuer, or undefined while it has none (none yet, deleted, a pending CA) */
  function issuerOf(mount: VaultMount): Promise<VaultIssuer | undefined> {
    return issuerById(mount, mount.caId);
  }

  /** every issuer of the mount with a certificate, in the order they were added (deleted and pending CAs left out) */
  async function allIssuers(mount: VaultMount): Promise<VaultIssuer[]> {
    const out: VaultIssuer[] = [];
    for (const id of issuersOfMount(mount)) {
      const issuer = await issuerById(mount, id);
      if (issuer) out.push(issuer);
    }
    return out;
  }

  /** `:ref` (`default`, an issuer's CA id or name) as an issuer of the mount; undefined when it names none */
  async function find(mount: VaultMount, ref: string): Promise<VaultIssuer | undefined> {
    if (ref === 'default') return issuerOf(mount);
    if (issuersOfMount(mount).includes(ref)) return issuerById(mount, ref);
    return (await allIssuers(mount)).find((i) => i.ca.name === ref);
  }

  /** `:ref` of a read: the issuer, or 404 with OpenBao's message (OpenBao itself answers it with a 500) */
  async function resolve(mount: VaultMount, ref: string): Promise<VaultIssuer> {
    const issuer = await find(mount, ref);
    if (!issuer) {
      throw new PkiError(
        'vault.issuer_not_found',
        ref !== 'default'
          ? `unable to find PKI issuer for reference: ${ref}`
          : 'no default issuer currently configured',
      );
    }
    return issuer;
  }

  /**
   * `key/:ref`: an issuer's key (its CA's) by its id, the CA's name or `default` (the default issuer's); 404 with
   * OpenBao's message else
   */
  async function resolveKey(mount: VaultMount, ref: string): Promise<VaultIssuer> {
    const issuers = ref === 'default' ? [await issuerOf(mount)] : await allIssuers(mount);
    const issuer = issuers.find(
      (i) => i && keyIdOf(i.ca) && (ref === 'default' || ref === keyIdOf(i.ca) || ref === i.ca.name),
    );
    if (!issuer) throw new PkiError('vault.issuer_not_found', `unable to find PKI key for reference: ${ref}`);
    return issuer;
  }

  return {
    resolve,

    /** LIST `issuers` (unauthenticated, as OpenBao): every issuer's id, with its name, default, serial and key id */
    async list(mount: VaultMount): Promise<{ keys: string[]; key_info: Record<string, unknown> } | undefined> {
      const issuers = await allIssuers(mount);
      if (!issuers.length) return undefined;
      const info: Record<string, unknown> = {};
      for (const { ca } of issuers) {
        info[ca.id] = {
          issuer_name: ca.name,
          is_default: ca.id === mount.caId,
          serial_number: toVaultSerial(ca.serialHex ?? ''),
          key_id: keyIdOf(ca),
        };
      }
      return { keys: issuers.map((i) => i.ca.id), key_info: info };
    },

    /** `issuer/:ref` (a token with `ca:read`, as OpenBao asks for one): the issuer's whole entry */
    async read(mount: VaultMount, ref: string, actor: Actor): Promise<Record<string, unknown>> {
      authorize(actor, 'ca:read');
      return entryOf(await resolve(mount, ref), mount);
    },

    /**
     * `issuer/:ref` POST/PATCH (`ca:write`; Terraform's `vault_pki_secret_backend_issuer`): `issuer_name` renames the
     * CA (`cas.rename`, audited `ca.renamed`; its id — the issuer id — stays). `issuing_certificates`,
     * `crl_distribution_points`, `ocsp_servers` given with other values than the entry's make them the issuer's own
     * URLs (OpenBao's per-issuer AIA URLs; PATCH: the fields not given keep the entry's), which `config/urls` no longer
     * changes; all three empty: it follows `config/urls` again. The other fields of the entry are the CA's own (usage,
     * chain): given with the value the entry has, they change nothing; any other value is a 400 saying where it is
     * set. Answers the entry as `issuer/:ref` does. `replace` (POST, OpenBao's pathUpdateIssuer) takes every field
     * not given as its default — no URLs of its own (the issuer follows `config/urls`), templating off,
     * `leaf_not_after_behavior` `err`; usage, chain and algorithm are the entry's anyway — where PATCH (no `replace`)
     * keeps the entry's. The name stays when not given (a CA has one; OpenBao's POST empties it).
     */
    async write(
      mount: VaultMount,
      ref: string,
      given: Record<string, unknown>,
      actor: Actor,
      opts: { replace?: boolean } = {},
    ): Promise<Record<string, unknown>> {
      authorize(actor, 'ca:write');
      // POST: `usage` not given is OpenBao's default, every usage — issuing included (refused on a revoked issuer)
      const params = opts.replace ? { ...POST_DEFAULTS, usage: USAGE, ...given } : given;
      const issuer = await resolve(mount, ref);
      const entry = entryOf(issuer, mount);
      const invalid = (m: string) => new PkiError('vault.invalid_parameter', m);
      const sameList = (f: string, have: string[], sorted = false) => {
        const given = parseVaultList(f, params[f]).map((x) => x.trim());
        const norm = (l: string[]) => (sorted ? [...l].sort() : l).join(',');
        return norm(given) === norm(have);
      };
      // OpenBao's leaf_not_after_behavior is the CA's own setting here (cas.setLeafNotAfterBehavior): checked first,
      // set after the other fields passed, so a refused write changes nothing
      let behavior: LeafNotAfterBehavior | undefined;
      if (params.leaf_not_after_behavior !== undefined) {
        const raw = parseVaultString('leaf_not_after_behavior', params.leaf_not_after_behavior);
        behavior = LEAF_NOT_AFTER_BEHAVIORS.find((b) => b === raw);
        if (!behavior) {
          throw invalid(
            'Unknown value for field `leaf_not_after_behavior`. Possible values are `err`, `truncate`, and `permit`.',
          );
        }
      }
      const checks: [field: string, same: () => boolean, where: string][] = [
        [
          'manual_chain',
          () => sameList('manual_chain', []),
          "the chain is the CA's parents or the outside chain given at set-signed",
        ],
        [
          'usage',
          () => sameList('usage', String(entry.usage).split(','), true),
          'a CA issues, signs CRLs and OCSP responses until it is revoked (issuer/:ref/revoke)',
        ],
        [
          'revocation_signature_algorithm',
          () => !parseVaultString('revocation_signature_algorithm', params.revocation_signature_algorithm),
          "CRLs and OCSP responses are signed with the CA key's algorithm",
        ],
      ];
      // OpenBao's refusal (pathUpdateIssuer), before the usage check: a revoked issuer never issues again
      const usage = params.usage === undefined ? [] : parseVaultList('usage', params.usage).map((x) => x.trim());
      if (issuer.ca.status === 'revoked' && usage.includes('issuing-certificates')) throw invalid(REVOKED_NO_ISSUING);
      for (const [field, same, where] of checks) {
        if (params[field] !== undefined && !same())
          throw invalid(`${field} cannot be changed on a PKI Manager issuer (its CA): ${where}`);
      }
      // the issuer's own URLs: checked here, set after the rename. `enable_aia_url_templating` not given keeps the
      // entry's (PATCH; POST's `replace` made it false); with it, OpenBao's expansion for this issuer must succeed
      // now (OpenBao warns and fails the issuances: refused here, as config/urls, so no leaf lacks its URLs)
      let urls: VaultUrlsConfig | null | undefined;
      const urlFields = [
        'issuing_certificates',
        'crl_distribution_points',
        'ocsp_servers',
        'delta_crl_distribution_points',
      ] as const;
      const templating =
        params.enable_aia_url_templating === undefined
          ? entry.enable_aia_url_templating === true
          : parseVaultBool('enable_aia_url_templating', params.enable_aia_url_templating);
      if (
        templating !== entry.enable_aia_url_templating ||
        urlFields.some((f) => params[f] !== undefined && !sameList(f, entry[f] as string[]))
      ) {
        const next = { enable_templating: templating } as VaultUrlsConfig;
        for (const f of urlFields) {
          next[f] =
            params[f] === undefined ? [...(entry[f] as string[])] : parseVaultList(f, params[f]).map((x) => x.trim());
        }
        if (templating) expandUrlTemplates(next, mount.cluster, issuer.ca.id);
        else checkPlainUrls(pickUrlLists(next));
        urls = urlFields.some((f) => next[f]?.length) ? next : null;
        // all empty on an issuer without URLs of its own: it follows config/urls already, nothing to change
        if (urls === null && !(mount.ownUrlsIds ?? []).includes(issuer.ca.id)) urls = undefined;
      }
      let name: string | undefined;
      if (params.issuer_name !== undefined) {
        name = parseVaultString('issuer_name', params.issuer_name).trim();
        if (!name) throw invalid('issuer_name cannot be empty: a PKI Manager issuer is a CA, and a CA has a name');
        if (name.toLowerCase() === 'default') {
          throw invalid("reserved keyword 'default' can not be used as issuer name");
        }
      }
      // the rename first: it is what can still be refused (a taken name); the behavior was checked above
      let ca = issuer.ca;
      if (name !== undefined) ca = await deps.cas.rename(ca.id, name, actor);
      if (behavior !== undefined) ca = await deps.cas.setLeafNotAfterBehavior(ca.id, behavior, actor);
      if (urls !== undefined) {
        const m = await deps.mounts.setIssuerUrls(mount.path, ca.id, urls, actor);
        return entryOf({ ...issuer, ca: (await deps.cas.get(ca.id)).ca }, m);
      }
      return ca === issuer.ca ? entry : entryOf({ ...issuer, ca }, mount);
    },

    /**
     * `issuer/:ref/revoke` (`ca:write`), as OpenBao: the issuer's CA certificate is revoked WITHOUT cascade — the CA
     * row marked revoked, listed on its parent's CRL and revoked in its parent's OCSP answers; what it issued stays
     * valid, its own CRL and OCSP answers go on, and it issues nothing more (usage without `issuing-certificates`).
     * Answers the issuer's entry with `revocation_time`; an issuer already revoked answers the same entry (its first
     * time), no warnings. Warnings as OpenBao's: a root (self-signed: no CRL lists it), no parent CA, the default.
     */
    async revoke(
      mount: VaultMount,
      ref: string,
      actor: Actor,
    ): Promise<{ data: Record<string, unknown>; warnings?: string[] }> {
      authorize(actor, 'ca:write');
      const issuer = await resolve(mount, ref);
      if (issuer.ca.status === 'revoked') return { data: entryOf(issuer, mount) };
      let ca: CaRow;
      try {
        ca = (await deps.revocation.revokeCa(issuer.ca.id, 'unspecified', actor, { cascade: false })).ca;
      } catch (e) {
        // revoked meanwhile (another request, another process): the same answer as a second call
        if (!(e instanceof PkiError) || e.code !== 'ca.already_revoked') throw e;
        return { data: entryOf(await resolve(mount, ref), mount) };
      }
      const warnings: string[] = [];
      if (ca.subjectDn === ca.issuerDn && ca.parentId === null)
        warnings.push(
          'This issuer is a self-signed (potentially root) certificate. This means it may not be considered revoked ' +
            "if there is not an external, cross-signed variant of this certificate. This issuer's serial number will " +
            'not appear on its own CRL.',
        );
      if (ca.parentId === null)
        warnings.push(
          'This issuer lacks a parent issuer in PKI Manager (a root, or a CA signed by an outside CA). This means it ' +
            'will not appear on any CRL here and may not be considered revoked by clients. Consider revoking it at ' +
            'its outside issuer as well if it is not self-signed.',
        );
      if (ca.id === mount.caId)
        warnings.push(
          'This issuer is currently configured as the default issuer for this mount; operations such as certificate ' +
            'issuance may not work until a new default issuer is selected.',
        );
      return { data: entryOf({ ...issuer, ca }, mount), warnings };
    },

    /**
     * `DELETE issuer/:ref` (OpenBao's pathDeleteIssuer; `ca:write`): the issuer's CA is deleted — by `cas.delete`, the
     * authority's one CA deletion (`pkim ca delete`), with its refusals, each a 400 with nothing changed: a CA still
     * valid (a root must be revoked or expired first, an intermediate expired: its parent's CRL lists it until then),
     * one with subordinate CAs. Its key stays in its backend and a key of the mount, as OpenBao keeps the key entry
     * (`keys`, `key/:ref`, `key_ref`; the default key when it was); the issuer leaves the mount (`keptKeyId`), and a
     * default issuer leaves it without a default (OpenBao's warning). The other issuers stay. A ref naming no issuer of
     * the mount (none, a pending CA, another name) changes nothing and answers 204, as OpenBao.
     */
    async delete(mount: VaultMount, ref: string, actor: Actor): Promise<string[] | undefined> {
      authorize(actor, 'ca:write');
      const issuer = await find(mount, ref);
      if (!issuer) return undefined;
      await deps.cas.delete(issuer.ca.id, {}, actor);
      await deps.unbindKeepingKey(mount, issuer.ca, actor);
      const kept =
        `CA ${issuer.ca.name} was deleted (ca.deleted); its key ${keyIdOf(issuer.ca)} was kept in its key backend ` +
        'and stays a key of the mount (keys, key/:ref).';
      if (issuer.ca.id !== mount.caId) return [kept];
      return [
        `Deleted issuer ${issuer.ca.id} (via issuer_ref ${ref}); this was configured as the default issuer. ` +
          'Operations without an explicit issuer will not work until a new default is configured.',
        `${kept} The mount has no default issuer now: name one (config/issuers) or generate one ` +
          '(root/generate/internal, or root/generate/existing with key_ref to use that key again) to issue again.',
      ];
    },

    /**
     * `DELETE root` (OpenBao's pathCADeleteRoot: every issuer and key of the mount; `ca:write`): each issuer's CA is
     * deleted by `cas.delete` with the same refusals as `DELETE issuer/:ref` (a refusal stops there: the issuers
     * deleted before it stay deleted) and its key destroyed in its backend (`destroyKey`: a backend that cannot
     * destroy keys is a 400 before that CA changes; a destruction that fails after the delete leaves the key, audited
     * `kms.key_destroy_failed`, and says so); each leaves the mount. Always OpenBao's warning.
     */
    async deleteRoot(mount: VaultMount, actor: Actor): Promise<string[]> {
      authorize(actor, 'ca:write');
      const warnings = [DELETE_ROOT_WARNING];
      // the default last: a refusal of another leaves the mount issuing as before
      const ids = issuersOfMount(mount).reverse();
      for (const id of ids) {
        let ca: CaRow | undefined;
        try {
          ca = (await deps.cas.get(id)).ca;
        } catch (e) {
          if (!(e instanceof PkiError) || e.code !== 'ca.not_found') throw e;
        }
        if (ca) {
          const { keyDestroyed, keyInUseBy } = await deps.cas.delete(ca.id, { destroyKey: true }, actor);
          warnings.push(
            keyDestroyed
              ? `CA ${ca.name} (${ca.id}) was deleted and its key destroyed in its key backend.`
              : keyInUseBy
                ? `CA ${ca.name} (${ca.id}) was deleted; its key is kept: CA ` +
                  `${keyInUseBy.map((c) => `${c.name} (${c.id})`).join(', ')} use it too (destroyed with the last).`
                : `CA ${ca.name} (${ca.id}) was deleted; its key could not be destroyed and was left in its key ` +
                  'backend (kms.key_destroy_failed in the audit log).',
          );
        }
        await deps.mounts.removeIssuer(mount.path, id, actor);
      }
      return warnings;
    },

    /**
     * LIST `keys` (a token with `ca:read`, as OpenBao): the issuers' keys — each CA's key, named by its issuer's
     * `key_id` (the subject key identifier: public, stable; the key URI is never shown) and the CA's name
     */
    async listKeys(
      mount: VaultMount,
      actor: Actor,
    ): Promise<{ keys: string[]; key_info: Record<string, unknown>; uris: string[] } | undefined> {
      authorize(actor, 'ca:read');
      const issuers = await allIssuers(mount);
      const def = (await issuerOf(mount))?.ca;
      const keys: string[] = [];
      const uris: string[] = [];
      const info: Record<string, unknown> = {};
      for (const { ca } of issuers) {
        const id = keyIdOf(ca);
        if (!id || info[id]) continue;
        keys.push(id);
        uris.push(ca.keyUri);
        info[id] = {
          key_name: ca.name,
          key_type: KEY_TYPE_INFO[ca.keyType].algorithm,
          is_default: def !== undefined && keyIdOf(def) === id,
        };
      }
      return keys.length ? { keys, key_info: info, uris } : undefined;
    },

    /** the CA of the issuer whose key `ref` names (its id, the CA's name, `default`), if one does (a `key_ref`) */
    async keyOwner(mount: VaultMount, ref: string): Promise<CaRow | undefined> {
      try {
        return (await resolveKey(mount, ref)).ca;
      } catch (e) {
        if (e instanceof PkiError && e.code === 'vault.issuer_not_found') return undefined;
        throw e;
      }
    },

    /** `key/:ref` (`ca:read`): the key by its id, its name (the CA's) or `default`; 404 with OpenBao's message else */
    async readKey(mount: VaultMount, ref: string, actor: Actor): Promise<Record<string, unknown>> {
      authorize(actor, 'ca:read');
      return keyEntry((await resolveKey(mount, ref)).ca);
    },

    /**
     * `key/:ref` POST/PATCH (`ca:write`): `key_name` is the CA's name (an issuer's key is its CA's), so it renames
     * the CA as `issuer_name` does (`cas.rename`, audited `ca.renamed`); an empty or reserved name is a 400. Answers
     * the key as `key/:ref` does.
     */
    async writeKey(
      mount: VaultMount,
      ref: string,
      params: Record<string, unknown>,
      actor: Actor,
    ): Promise<Record<string, unknown>> {
      authorize(actor, 'ca:write');
      const issuer = await resolveKey(mount, ref);
      if (params.key_name === undefined) return keyEntry(issuer.ca);
      const name = parseVaultString('key_name', params.key_name).trim();
      const invalid = (m: string) => new PkiError('vault.invalid_parameter', m);
      if (!name) throw invalid("key_name cannot be empty: an issuer's key is its CA's, named as the CA");
      if (name.toLowerCase() === 'default') throw invalid("reserved keyword 'default' can not be used as key name");
      return keyEntry(await deps.cas.rename(issuer.ca.id, name, actor));
    },

    /**
     * `DELETE key/:ref` (`ca:write`): an issuer's key is in use as long as its CA is, so it is
     * refused with OpenBao's 400 (`Failed to Delete Key.  Key in Use by Issuer: <CA id>`), nothing changed; delete
     * the issuer (`DELETE issuer/:ref`, `DELETE root`) instead. A ref naming no key of the mount changes nothing
     * (OpenBao answers it as deleted: 204).
     */
    async deleteKey(mount: VaultMount, ref: string, actor: Actor): Promise<void> {
      authorize(actor, 'ca:write');
      let issuer: VaultIssuer;
      try {
        issuer = await resolveKey(mount, ref);
      } catch (e) {
        if (e instanceof PkiError && e.code === 'vault.issuer_not_found') return;
        throw e;
      }
      throw new PkiError(
        'vault.invalid_parameter',
        `Failed to Delete Key.  Key in Use by Issuer: ${issuer.ca.id} (an issuer's key is its CA's: ` +
          'DELETE issuer/:ref deletes the CA and keeps the key, DELETE root destroys it)',
      );
    },

    /** `issuer/:ref/json` (unauthenticated): `{certificate, ca_chain, issuer_id, issuer_name}` */
    async readJson(mount: VaultMount, ref: string): Promise<Record<string, unknown>> {
      const { ca, certificate, caChain } = await resolve(mount, ref);
      return { certificate, ca_chain: caChain, issuer_id: ca.id, issuer_name: ca.name };
    },

    /** `config/issuers`: the default issuer's id (`''` without one) and `default_follows_latest_issuer` */
    async readConfig(mount: VaultMount, actor: Actor): Promise<Record<string, unknown>> {
      authorize(actor, 'ca:read');
      const issuer = await issuerOf(mount);
      return { default: issuer?.ca.id ?? '', default_follows_latest_issuer: mount.followsLatest === true };
    },

    /**
     * a `config/issuers` write (`ca:write`), as OpenBao: `default` (required; not `default`) names an issuer of the
     * mount (id or name) that becomes its default issuer; `default_follows_latest_issuer`, when given, is set (an
     * issuer added later becomes the default). A ref naming no issuer: OpenBao's 400, nothing changed. `replace`:
     * OpenBao's alias `root/replace` — `default` is `next` when not given (`root/rotate`'s name), and it has no
     * `default_follows_latest_issuer` (ignored, as OpenBao's field-less alias).
     */
    async writeConfig(
      mount: VaultMount,
      params: Record<string, unknown>,
      actor: Actor,
      opts: { replace?: boolean } = {},
    ) {
      authorize(actor, 'ca:write');
      if (opts.replace) {
        const { default: given, default_follows_latest_issuer: _ignored, ...rest } = params;
        params = { ...rest, default: given === undefined ? 'next' : given };
      }
      const ref = parseVaultString('default', params.default);
      if (!ref || ref === 'default') {
        throw new PkiError(
          'vault.invalid_parameter',
          "Invalid issuer specification; must be non-empty and can't be 'default'.",
        );
      }
      const follows =
        params.default_follows_latest_issuer === undefined
          ? undefined
          : parseVaultBool('default_follows_latest_issuer', params.default_follows_latest_issuer);
      const issuer = await find(mount, ref);
      if (!issuer) {
        throw new PkiError(
          'vault.invalid_parameter',
          `Error resolving issuer reference: unable to find PKI issuer for reference: ${ref}`,
        );
      }
      const m = await deps.mounts.setDefaultIssuer(mount.path, issuer.ca.id, follows, actor);
      return { default: issuer.ca.id, default_follows_latest_issuer: m.followsLatest === true };
    },

    /**
     * a role write's warnings (OpenBao keeps the role and warns): its `issuer_ref` names no issuer of this mount, so
     * issue/sign through it are refused (`requireForIssuance`) until it does
     */
    async roleWarnings(mount: VaultMount, ref: string): Promise<string[] | undefined> {
      if (!ref || ref === 'default' || ref === mount.caId) return undefined;
      if (await find(mount, ref)) return undefined;
      return [
        `Issuing Certificate was set to ${ref} but no issuing certificate currently has that name: issue and sign ` +
          "through this role are refused until issuer_ref names an issuer of the mount (its CA's id or name, or " +
          'default)',
      ];
    },

    /**
     * `issuer/:ref/{issue,sign,sign-verbatim}`, a role's `issuer_ref`: the mount as the issuer `:ref` names sees it
     * (`issuerView`: its `caId` that issuer's); 400 as a bad parameter when it names no issuer of the mount
     */
    async requireForIssuance(mount: VaultMount, ref: string): Promise<VaultMount> {
      const issuer = await find(mount, ref);
      if (!issuer) {
        throw new PkiError(
          'vault.invalid_parameter',
          `could not fetch the CA certificate (was one set?): unable to find PKI issuer for reference: ${ref}`,
        );
      }
      return deps.mounts.issuerView(mount, issuer.ca.id);
    },
  };
}
/**
 * an issuer's whole entry (`issuer/:ref`, `issuer/:ref/revoke`), OpenBao's field names; its own templated URLs
 * (`mount.ownTemplates`) as written
 */
function entryOf(
  { ca, certificate, caChain }: VaultIssuer,
  mount: Pick<VaultMount, 'ownTemplates'>,
): Record<string, unknown> {
  const revoked = ca.status === 'revoked';
  const templates = mount.ownTemplates?.[ca.id];
  return {
    issuer_id: ca.id,
    issuer_name: ca.name,
    key_id: keyIdOf(ca),
    certificate,
    ca_chain: caChain,
    manual_chain: null,
    // what the signing pipeline does with a leaf asked past the CA's own NotAfter: the CA's setting
    leaf_not_after_behavior: ca.leafNotAfterBehavior,
    usage: revoked ? REVOKED_USAGE : USAGE,
    revocation_signature_algorithm: '',
    revoked,
    ...(revoked
      ? {
          revocation_time: Math.floor((ca.revokedAt ?? 0) / 1000),
          revocation_time_rfc3339: new Date(ca.revokedAt ?? 0).toISOString(),
        }
      : {}),
    // the CA's URL setting: what `config/urls` of the mount writes, so per issuer and per mount are one here
    issuing_certificates: templates?.issuing_certificates ?? ca.urls?.caIssuersUrls ?? [],
    crl_distribution_points: templates?.crl_distribution_points ?? ca.urls?.crlDistributionPoints ?? [],
    delta_crl_distribution_points:
      templates?.delta_crl_distribution_points ?? ca.urls?.deltaCrlDistributionPoints ?? [],
    ocsp_servers: templates?.ocsp_servers ?? ca.urls?.ocspUrls ?? [],
    enable_aia_url_templating: templates !== undefined,
  };
}

/** the key entry of `key/:ref`, OpenBao's field names: the CA key's id, the CA's name, the algorithm, the SKI */
function keyEntry(ca: CaRow): Record<string, unknown> {
  const id = keyIdOf(ca);
  return {
    key_id: id,
    key_name: ca.name,
    key_type: KEY_TYPE_INFO[ca.keyType].algorithm,
    subject_key_id: id.match(/../g)!.join(':'),
  };
}

/** an issuer's `key_id`: the CA key's subject key identifier (hex) — stable, public, names the key not the URI */
export function keyIdOf(ca: CaRow): string {
  return ca.skiHex?.toLowerCase() ?? '';
}

export type VaultIssuerService = ReturnType<typeof createVaultIssuerService>;
