import { PkiError } from '@pkim/shared';
import { isValidIp } from '@pkim/core';
import type { VaultRole } from './vault-role';

/**
 * Vault's role name rules (OpenBao `validateNames` / `validateCommonName`), as pure functions. They run as the
 * Vault-role provisioner's validator inside the one signing pipeline, next to the generic provisioner policy.
 */
const HOSTNAME_RE =
  /^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])\.?$/;

export function isVaultHostname(name: string): boolean {
  return name.length > 0 && name.length <= 253 && HOSTNAME_RE.test(name);
}

/** ryanuber/go-glob: `*` matches any run of characters (dots included); everything else literally. */
export function vaultGlob(pattern: string, subject: string): boolean {
  if (pattern === '*') return true;
  const [first = '', ...more] = pattern.split('*');
  const last = more.pop();
  if (last === undefined) return pattern === subject;
  if (!subject.startsWith(first)) return false;
  let pos = first.length;
  for (const part of more) {
    const at = subject.indexOf(part, pos);
    if (at < 0) return false;
    pos = at + part.length;
  }
  return subject.length - last.length >= pos && subject.endsWith(last);
}

/** Returns the first name the role does not allow, or undefined. */
export function firstDisallowedName(role: VaultRole, names: string[]): string | undefined {
  for (const name of names) {
    let reduced = name;
    let emailDomain = name;
    let isEmail = false;
    let isWildcard = false;
    if (reduced.includes('@')) {
      const split = reduced.split('@');
      const domain = split[1];
      if (split.length !== 2 || domain === undefined) return name;
      reduced = domain;
      emailDomain = domain;
      isEmail = true;
    }
    if (reduced.includes('*')) {
      isWildcard = true;
      if (!role.allow_wildcard_certificates) return name;
      // RFC 6125: the wildcard is the whole left-most label
      if (!reduced.startsWith('*.') || reduced.includes('*', 1)) return name;
      reduced = reduced.slice(2);
    }
    if (isEmail && isWildcard) return name;
    if (role.enforce_hostnames && !isVaultHostname(reduced)) return name;
    if (role.allow_any_name) continue;
    const lower = reduced.toLowerCase();
    if (role.allow_localhost) {
      if (lower === 'localhost' || lower === 'localdomain') continue;
      if (
        role.allow_subdomains &&
        (lower.endsWith('.localhost') || lower.endsWith('.localdomain') || (isWildcard && lower === 'localhost'))
      ) {
        continue;
      }
    }
    const valid = role.allowed_domains.some((d) => {
      const domain = d.toLowerCase();
      if (!domain) return false;
      if (
        role.allow_bare_domains &&
        (name.toLowerCase() === domain || (isEmail && emailDomain.toLowerCase() === domain))
      ) {
        return true;
      }
      if (role.allow_subdomains && (lower.endsWith(`.${domain}`) || (isWildcard && lower === domain))) return true;
      return role.allow_glob_domains && domain.includes('*') && vaultGlob(domain, name.toLowerCase());
    });
    if (!valid) return name;
  }
  return undefined;
}

function notAllowed(message: string): PkiError {
  return new PkiError('policy.name_not_allowed', message);
}

export interface VaultNameRequest {
  commonName: string;
  dns: string[];
  email: string[];
  ip: string[];
  uri: string[];
}

/** Vault's checks of CN, DNS/e-mail SANs, IP and URI SANs against a role; throws with Vault's messages. */
export function checkRoleNames(role: VaultRole, req: VaultNameRequest): void {
  const cn = req.commonName;
  if (!cn && role.require_cn) throw new PkiError('vault.invalid_parameter', 'the common_name field is required');
  if (cn) {
    const disabled = role.cn_validations.length === 1 && role.cn_validations[0] === 'disabled';
    if (!disabled) {
      let bad = firstDisallowedName(role, [cn]) !== undefined;
      if (!bad && role.cn_validations.length > 0) {
        bad = cn.includes('@') ? !role.cn_validations.includes('email') : !role.cn_validations.includes('hostname');
      }
      if (bad) throw notAllowed(`common name ${cn} not allowed by this role`);
    }
  }
  const badSan = firstDisallowedName(role, [...req.dns, ...req.email]);
  if (badSan !== undefined) throw notAllowed(`subject alternate name ${badSan} not allowed by this role`);
  if (req.ip.length) {
    if (!role.allow_ip_sans) {
      throw notAllowed(`IP Subject Alternative Names are not allowed in this role, but was provided ${req.ip[0]}`);
    }
    const badIp = req.ip.find((ip) => !isValidIp(ip));
    if (badIp) throw new PkiError('vault.invalid_parameter', `the value "${badIp}" is not a valid IP address`);
  }
  if (req.uri.length) {
    if (role.allowed_uri_sans.length === 0) {
      throw notAllowed('URI Subject Alternative Names are not allowed in this role, but were provided via the API');
    }
    for (const uri of req.uri) {
      if (!role.allowed_uri_sans.some((g) => vaultGlob(g, uri))) {
        throw notAllowed(`URI Subject Alternative Name ${uri} not allowed by this role`);
      }
    }
  }
}

/** Splits `alt_names` into DNS names and e-mail addresses (Vault: an `@` makes it an e-mail). */
export function splitAltNames(altNames: string[]): { dns: string[]; email: string[] } {
  return {
    dns: altNames.filter((n) => !n.includes('@')),
    email: altNames.filter((n) => n.includes('@')),
  };
}

/** The CN joins the SANs unless excluded: as e-mail if it has an `@`, as DNS name if it is a host name. */
export function sansWithCommonName(
  cn: string,
  sans: { dns: string[]; email: string[] },
  excludeCn: boolean,
): { dns: string[]; email: string[] } {
  if (!cn || excludeCn) return sans;
  if (cn.includes('@')) return { dns: sans.dns, email: sans.email.includes(cn) ? sans.email : [cn, ...sans.email] };
  if (!isVaultHostname(cn.replace(/^\*\./, 'wildcard.'))) return sans;
  return { dns: sans.dns.includes(cn) ? sans.dns : [cn, ...sans.dns], email: sans.email };
}
