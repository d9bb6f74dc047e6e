/**
 * Signs an OpenSSH certificate with a CA signer handle (a key backend key): encode → sign → wrap the
 * backend's signature in SSH form → assemble → parse back → verify against the CA key.
 */
import { PkiError, type KeyType } from '@pkim/shared';
import {
  assembleSshCertificate,
  encodeSshCertificateTbs,
  formatSshCertificate,
  parseSshCertificate,
  verifySshCertificate,
  type ParsedSshCertificate,
  type SshCertificateInput,
} from './ssh-certificate';
import { sshPublicKeyBlobFromSpki } from './ssh-public-key';
import { sshSignatureAlgorithmFor, sshSignatureFromBackend } from './ssh-signature';

/** What a key backend hands out: the key type, its SubjectPublicKeyInfo and an X.509-style `sign`. */
export interface SshCaSigner {
  keyType: KeyType;
  /** SubjectPublicKeyInfo DER */
  publicKey: Uint8Array;
  sign(data: Uint8Array): Promise<Uint8Array> | Uint8Array;
}

export interface IssuedSshCertificate {
  blob: Uint8Array;
  /** The `-cert.pub` line */
  line: string;
  parsed: ParsedSshCertificate;
}

export async function issueSshCertificate(
  input: Omit<SshCertificateInput, 'caPublicKey'>,
  signer: SshCaSigner,
  comment = '',
): Promise<IssuedSshCertificate> {
  const caPublicKey = sshPublicKeyBlobFromSpki(signer.publicKey);
  const tbs = encodeSshCertificateTbs({ ...input, caPublicKey });
  const algorithm = sshSignatureAlgorithmFor(signer.keyType);
  const signature = sshSignatureFromBackend(algorithm, await signer.sign(tbs));
  const blob = assembleSshCertificate(tbs, signature);
  const parsed = parseSshCertificate(blob);
  if (!verifySshCertificate(parsed, caPublicKey)) {
    throw new PkiError('ssh.verify_failed', 'the signed SSH certificate does not verify against the CA key');
  }
  return { blob, line: formatSshCertificate(blob, comment), parsed };
}
