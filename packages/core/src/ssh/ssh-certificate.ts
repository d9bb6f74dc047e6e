/**
 * OpenSSH certificates (PROTOCOL.certkeys, `*-cert-v01@openssh.com`): validate a request, encode the
 * to-be-signed body, assemble it with the CA's signature, parse and verify. Pure: the caller passes the
 * time and the signer; nothing here touches a private key.
 */
import { randomBytes } from 'node:crypto';
import { PkiError } from '@pkim/shared';
import { isValidIp } from '../general-names';
import { concatBytes, compareBytes, createSshReader, sshString, sshUint32, sshUint64 } from './ssh-wire';
import { parseSshPublicKey, sshFingerprint, type SshKeyAlgorithm } from './ssh-public-key';
import { sshSignatureAlgorithmOf, verifySshSignature } from './ssh-signature';

export type SshCertificateType = 'user' | 'host';

/** Option/extension values: `true` for a flag (empty data), a string for a valued option. */
export type SshOptionValue = string | true;

/** Critical options OpenSSH understands; sshd refuses certificates with any other critical option. */
export const SSH_CRITICAL_OPTIONS = ['force-command', 'source-address', 'verify-required'] as const;
/** Standard user-certificate extensions (all flags). Custom extensions must be `name@domain`. */
export const SSH_EXTENSIONS = [
  'no-touch-required',
  'permit-X11-forwarding',
  'permit-agent-forwarding',
  'permit-port-forwarding',
  'permit-pty',
  'permit-user-rc',
] as const;
/** What `ssh-keygen -s` grants a user certificate by default: every standard extension but no-touch-required. */
export const SSH_DEFAULT_USER_EXTENSIONS = SSH_EXTENSIONS.filter((e) => e !== 'no-touch-required');

/** OpenSSH's limit on principals per certificate (SSHKEY_CERT_MAX_PRINCIPALS). */
export const SSH_MAX_PRINCIPALS = 256;
/** "valid forever" as OpenSSH encodes it. */
export const SSH_FOREVER = 0xffff_ffff_ffff_ffffn;

export interface SshCertificateInput {
  /** The subject public key (SSH wire blob or `.pub` line). */
  publicKey: Uint8Array | string;
  /** Non-zero, unique per CA (KRLs cannot revoke serial 0). */
  serial: bigint;
  type: SshCertificateType;
  keyId: string;
  principals: readonly string[];
  /** Milliseconds since the epoch; encoded in whole seconds. */
  validAfter: number;
  validBefore: number;
  criticalOptions?: Readonly<Record<string, SshOptionValue>>;
  extensions?: Readonly<Record<string, SshOptionValue>>;
  /** The CA public key blob (the `signature key` field). */
  caPublicKey: Uint8Array;
  /** 32 random bytes by default. */
  nonce?: Uint8Array;
}

export interface ParsedSshCertificate {
  certType: string;
  /** The certified key's algorithm, e.g. `ssh-ed25519`. */
  keyAlgorithm: SshKeyAlgorithm;
  nonce: Uint8Array;
  /** The certified public key as a plain key blob. */
  publicKey: Uint8Array;
  serial: bigint;
  type: SshCertificateType;
  keyId: string;
  principals: string[];
  /** Seconds since the epoch, as encoded. */
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: Record<string, SshOptionValue>;
  extensions: Record<string, SshOptionValue>;
  caPublicKey: Uint8Array;
  signature: Uint8Array;
  signatureAlgorithm: string;
  /** The signed bytes (everything up to and including the signature key). */
  tbs: Uint8Array;
  /** The whole certificate blob. */
  blob: Uint8Array;
  comment: string;
}

const bad = (message: string, details?: Record<string, unknown>) =>
  new PkiError('ssh.invalid_request', message, details ? { details } : {});

/**
 * `ssh-ed25519` → `ssh-ed25519-cert-v01@openssh.com`, `sk-ssh-ed25519@openssh.com` →
 * `sk-ssh-ed25519-cert-v01@openssh.com`.
 */
export function sshCertificateTypeName(keyAlgorithm: string): string {
  return `${keyAlgorithm.replace(/@openssh\.com$/, '')}-cert-v01@openssh.com`;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function validateSourceAddress(value: string): void {
  for (const entry of value.split(',')) {
    const [addr = '', prefix, ...more] = entry.trim().split('/');
    const max = addr.includes(':') ? 128 : 32;
    const okPrefix = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max);
    if (more.length > 0 || !isValidIp(addr) || !okPrefix) {
      throw bad(`source-address '${entry}' is not an IP address or CIDR block`, { option: 'source-address' });
    }
  }
}

function validateOptions(
  kind: 'critical option' | 'extension',
  opts: Readonly<Record<string, SshOptionValue>>,
  certType: SshCertificateType,
): void {
  for (const [name, value] of Object.entries(opts)) {
    if (!name || CONTROL.test(name) || /\s/.test(name)) throw bad(`invalid ${kind} name '${name}'`);
    if (typeof value === 'string' && CONTROL.test(value)) throw bad(`${kind} ${name} contains control characters`);
    if (kind === 'critical option') {
      if (!(SSH_CRITICAL_OPTIONS as readonly string[]).includes(name)) {
        throw bad(`unknown critical option '${name}' (sshd would refuse the certificate)`, {
          supported: SSH_CRITICAL_OPTIONS,
        });
      }
      if (name === 'verify-required' && value !== true) throw bad('verify-required is a flag and takes no value');
      if (name !== 'verify-required') {
        if (typeof value !== 'string' || value.trim() === '') throw bad(`critical option ${name} needs a value`);
        if (name === 'source-address') validateSourceAddress(value);
      }
    } else if (!(SSH_EXTENSIONS as readonly string[]).includes(name) && !/^[^@\s]+@[^@\s]+$/.test(name)) {
      throw bad(`unknown extension '${name}' (custom extensions are named name@domain)`, { supported: SSH_EXTENSIONS });
    } else if ((SSH_EXTENSIONS as readonly string[]).includes(name) && value !== true) {
      throw bad(`extension ${name} is a flag and takes no value`);
    }
  }
  if (certType === 'host' && Object.keys(opts).length > 0) {
    throw bad(`host certificates carry no ${kind}s`);
  }
}

/** Validates principals: non-empty, printable, no commas or whitespace, at most 256, no duplicates. */
export function validateSshPrincipals(principals: readonly string[], type: SshCertificateType): void {
  if (principals.length === 0) throw bad(`a ${type} certificate needs at least one principal`);
  if (principals.length > SSH_MAX_PRINCIPALS) throw bad(`at most ${SSH_MAX_PRINCIPALS} principals`);
  const seen = new Set<string>();
  for (const p of principals) {
    if (!p || p.length > 255 || CONTROL.test(p) || /[\s,]/.test(p)) {
      throw bad(`invalid principal '${p}' (1–255 printable characters, no spaces or commas)`, { principal: p });
    }
    if (type === 'host' && !/^(\*\.)?[A-Za-z0-9_.:*?-]+$/.test(p)) {
      throw bad(`invalid host principal '${p}' (a host name, wildcard or IP address)`, { principal: p });
    }
    if (seen.has(p)) throw bad(`duplicate principal '${p}'`, { principal: p });
    seen.add(p);
  }
}

function encodeOptions(opts: Readonly<Record<string, SshOptionValue>> = {}): Uint8Array {
  const enc = new TextEncoder();
  const names = Object.keys(opts).sort((a, b) => compareBytes(enc.encode(a), enc.encode(b)));
  const parts: Uint8Array[] = [];
  for (const [name, v] of names.map((n) => [n, opts[n] ?? true] as const)) {
    parts.push(sshString(name), sshString(v === true ? new Uint8Array(0) : sshString(v)));
  }
  return concatBytes(...parts);
}

function keyFields(keyBlob: Uint8Array): { algorithm: string; fields: Uint8Array } {
  const r = createSshReader(keyBlob);
  const algorithm = r.text();
  return { algorithm, fields: r.rest() };
}

/**
 * Validates the request and encodes the to-be-signed certificate body (all fields up to and including the
 * signature key). Throws `ssh.invalid_public_key`/`ssh.weak_key`/`ssh.unsupported_key` for the subject key and
 * `ssh.invalid_request` for principals, validity, options and extensions.
 */
export function encodeSshCertificateTbs(input: SshCertificateInput): Uint8Array {
  const subject = parseSshPublicKey(input.publicKey);
  if (input.serial <= 0n || input.serial > SSH_FOREVER) throw bad('serial must be a non-zero uint64');
  if (!input.keyId || input.keyId.length > 1024 || CONTROL.test(input.keyId)) {
    throw bad('key id must be 1–1024 printable characters');
  }
  validateSshPrincipals(input.principals, input.type);
  if (!Number.isFinite(input.validAfter) || !Number.isFinite(input.validBefore)) throw bad('validity must be set');
  const after = BigInt(Math.floor(input.validAfter / 1000));
  const before = BigInt(Math.floor(input.validBefore / 1000));
  if (after < 0n || before <= after) throw bad('validBefore must be after validAfter');
  validateOptions('critical option', input.criticalOptions ?? {}, input.type);
  validateOptions('extension', input.extensions ?? {}, input.type);
  const ca = keyFields(input.caPublicKey);
  if (
    !['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'].includes(
      ca.algorithm,
    )
  ) {
    throw new PkiError('ssh.unsupported_key', `a CA key of type ${ca.algorithm} cannot sign certificates`);
  }
  const nonce = input.nonce ?? new Uint8Array(randomBytes(32));
  const { algorithm, fields } = keyFields(subject.blob);
  return concatBytes(
    sshString(sshCertificateTypeName(algorithm)),
    sshString(nonce),
    fields,
    sshUint64(input.serial),
    sshUint32(input.type === 'user' ? 1 : 2),
    sshString(input.keyId),
    sshString(concatBytes(...input.principals.map((p) => sshString(p)))),
    sshUint64(after),
    sshUint64(before),
    sshString(encodeOptions(input.criticalOptions)),
    sshString(encodeOptions(input.extensions)),
    sshString(new Uint8Array(0)),
    sshString(input.caPublicKey),
  );
}

/** The full certificate blob: the signed body followed by the CA's SSH signature blob. */
export function assembleSshCertificate(tbs: Uint8Array, signatureBlob: Uint8Array): Uint8Array {
  return concatBytes(tbs, sshString(signatureBlob));
}

/** `<cert type> <base64> [comment]`, the `-cert.pub` line. */
export function formatSshCertificate(blob: Uint8Array, comment = ''): string {
  const type = createSshReader(blob).text();
  const line = `${type} ${Buffer.from(blob).toString('base64')}`;
  return comment ? `${line} ${comment}` : line;
}

function decodeOptions(data: Uint8Array, what: string): Record<string, SshOptionValue> {
  const r = createSshReader(data, 'ssh.invalid_certificate', what);
  const out: Record<string, SshOptionValue> = {};
  while (r.remaining > 0) {
    const name = r.text();
    const value = r.string();
    if (value.length === 0) out[name] = true;
    else {
      const vr = createSshReader(value, 'ssh.invalid_certificate', `${what} ${name}`);
      out[name] = vr.text();
      vr.end();
    }
  }
  return out;
}

/** Parses an OpenSSH certificate (`-cert.pub` line or blob). Throws `ssh.invalid_certificate`. */
export function parseSshCertificate(input: string | Uint8Array): ParsedSshCertificate {
  let blob: Uint8Array;
  let comment = '';
  if (typeof input === 'string') {
    const parts = input.trim().split(/\s+/);
    const b64 = parts[1];
    if (b64 === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
      throw new PkiError('ssh.invalid_certificate', 'expected "<cert type> <base64> [comment]"');
    }
    blob = new Uint8Array(Buffer.from(b64, 'base64'));
    comment = parts.slice(2).join(' ');
  } else blob = input;
  const r = createSshReader(blob, 'ssh.invalid_certificate', 'OpenSSH certificate');
  const certType = r.text();
  if (!certType.endsWith('-cert-v01@openssh.com')) {
    throw new PkiError('ssh.invalid_certificate', `'${certType}' is not an OpenSSH certificate type`);
  }
  const base = certType.replace(/-cert-v01@openssh\.com$/, '');
  const keyAlgorithm = (base.startsWith('sk-') ? `${base}@openssh.com` : base) as SshKeyAlgorithm;
  const nonce = r.string();
  const keyStart = r.offset;
  // key fields per algorithm
  if (keyAlgorithm === 'ssh-rsa') {
    r.mpint();
    r.mpint();
  } else if (keyAlgorithm.includes('ed25519')) {
    r.string();
    if (keyAlgorithm.startsWith('sk-')) r.string();
  } else if (keyAlgorithm.includes('ecdsa')) {
    r.string();
    r.string();
    if (keyAlgorithm.startsWith('sk-')) r.string();
  } else throw new PkiError('ssh.invalid_certificate', `unsupported certificate type '${certType}'`);
  const publicKey = concatBytes(sshString(keyAlgorithm), blob.subarray(keyStart, r.offset));
  const serial = r.uint64();
  const typeCode = r.uint32();
  if (typeCode !== 1 && typeCode !== 2)
    throw new PkiError('ssh.invalid_certificate', `unknown certificate type ${typeCode}`);
  const keyId = r.text();
  const pr = createSshReader(r.string(), 'ssh.invalid_certificate', 'principals');
  const principals: string[] = [];
  while (pr.remaining > 0) principals.push(pr.text());
  const validAfter = r.uint64();
  const validBefore = r.uint64();
  const criticalOptions = decodeOptions(r.string(), 'critical options');
  const extensions = decodeOptions(r.string(), 'extensions');
  r.string(); // reserved
  const caPublicKey = r.string();
  const tbs = blob.subarray(0, r.offset);
  const signature = r.string();
  r.end();
  return {
    certType,
    keyAlgorithm,
    nonce,
    publicKey,
    serial,
    type: typeCode === 1 ? 'user' : 'host',
    keyId,
    principals,
    validAfter,
    validBefore,
    criticalOptions,
    extensions,
    caPublicKey,
    signature,
    signatureAlgorithm: sshSignatureAlgorithmOf(signature),
    tbs,
    blob,
    comment,
  };
}

/** True when the certificate's signature verifies with its signature key (and, if given, that key is `caPublicKey`). */
export function verifySshCertificate(cert: ParsedSshCertificate, caPublicKey?: Uint8Array): boolean {
  if (caPublicKey && compareBytes(caPublicKey, cert.caPublicKey) !== 0) return false;
  if (cert.signatureAlgorithm === 'ssh-rsa') return false; // SHA-1
  return verifySshSignature(cert.caPublicKey, cert.tbs, cert.signature);
}

/** The fingerprint of the CA key that signed this certificate. */
export function sshCertificateCaFingerprint(cert: ParsedSshCertificate): string {
  return sshFingerprint(cert.caPublicKey);
}
