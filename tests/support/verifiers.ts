/**
 * Independent verifiers for tests: OpenSSL, GnuTLS certtool and Go crypto/x509.
 * Every helper writes its inputs to a private temp dir that is removed afterwards, and throws a
 * clear error when a peer binary is missing (install with scripts/install-test-peers.sh).
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export interface VerifyResult {
  ok: boolean;
  output: string;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const checkedBins = new Set<string>();

/** Throws when `bin` is not on PATH, with the install hint. */
export function requireBinary(bin: string): void {
  if (checkedBins.has(bin)) return;
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(
      `test peer '${bin}' is not installed: run scripts/install-test-peers.sh ` +
        '(Debian: apt-get install openssl gnutls-bin golang-go)',
    );
  }
  checkedBins.add(bin);
}

/** Runs `fn` with a fresh temp dir that is always removed. */
export function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'pkim-verify-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(
  bin: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: Uint8Array } = {},
): { status: number; output: string; stdout: string } {
  requireBinary(bin);
  const r = spawnSync(bin, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    input: opts.input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, output: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '' };
}

const joinPems = (pems: string[] = []): string => pems.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');

export type OpensslPurpose =
  | 'sslserver'
  | 'sslclient'
  | 'nssslserver'
  | 'smimesign'
  | 'smimeencrypt'
  | 'crlsign'
  | 'any'
  | 'ocsphelper'
  | 'timestampsign'
  | 'codesign';

/** `openssl verify -x509_strict` (unless `strict: false`) with the right purpose; optional CRL check of the leaf. */
export function opensslVerify(o: {
  /** default true: -x509_strict */
  strict?: boolean;
  leafPem: string;
  chainPems?: string[];
  rootPem: string;
  purpose?: OpensslPurpose;
  crlPems?: string[];
  hostname?: string;
  /** epoch seconds for -attime */
  atTime?: number;
}): VerifyResult {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'root.pem'), o.rootPem);
    writeFileSync(join(dir, 'leaf.pem'), o.leafPem);
    const args = ['verify', ...(o.strict === false ? [] : ['-x509_strict']), '-CAfile', join(dir, 'root.pem')];
    if (o.chainPems?.length) {
      writeFileSync(join(dir, 'chain.pem'), joinPems(o.chainPems));
      args.push('-untrusted', join(dir, 'chain.pem'));
    }
    if (o.purpose) args.push('-purpose', o.purpose);
    if (o.crlPems?.length) {
      writeFileSync(join(dir, 'crl.pem'), joinPems(o.crlPems));
      args.push('-crl_check', '-CRLfile', join(dir, 'crl.pem'));
    }
    if (o.hostname) args.push('-verify_hostname', o.hostname);
    if (o.atTime !== undefined) args.push('-attime', String(o.atTime));
    args.push(join(dir, 'leaf.pem'));
    const r = run('openssl', args);
    return { ok: r.status === 0 && /: OK\s*$/m.test(r.stdout), output: r.output };
  });
}

/** GnuTLS `certtool --verify --load-ca-certificate root.pem` on leaf + intermediates. */
export function certtoolVerify(o: {
  leafPem: string;
  chainPems?: string[];
  rootPem: string;
  purpose?: 'serverAuth' | 'clientAuth';
}): VerifyResult {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'root.pem'), o.rootPem);
    writeFileSync(join(dir, 'chain.pem'), joinPems([o.leafPem, ...(o.chainPems ?? [])]));
    const args = ['--verify', '--load-ca-certificate', join(dir, 'root.pem'), '--infile', join(dir, 'chain.pem')];
    if (o.purpose === 'serverAuth') args.push('--verify-purpose', '1.3.6.1.5.5.7.3.1');
    if (o.purpose === 'clientAuth') args.push('--verify-purpose', '1.3.6.1.5.5.7.3.2');
    const r = run('certtool', args);
    return {
      ok:
        r.status === 0 &&
        r.output.includes('Chain verification output: Verified') &&
        !r.output.includes('Not verified'),
      output: r.output,
    };
  });
}

let goBinary: string | undefined;
/** Builds tests/support/go-verify once (cached by source hash; offline, stdlib only). */
export function goVerifyBinary(): string {
  if (goBinary && existsSync(goBinary)) return goBinary;
  requireBinary('go');
  const srcDir = join(HERE, 'go-verify');
  const src = readFileSync(join(srcDir, 'main.go'));
  const tag = createHash('sha256')
    .update(src)
    .update(readFileSync(join(srcDir, 'go.mod')))
    .digest('hex')
    .slice(0, 16);
  const cacheDir = join(tmpdir(), 'pkim-go-verify-cache');
  const bin = join(cacheDir, `go-verify-${tag}`);
  if (!existsSync(bin)) {
    mkdirSync(cacheDir, { recursive: true });
    withTempDir((home) => {
      const out = join(home, 'go-verify');
      const env = {
        ...process.env,
        HOME: home,
        GOPATH: join(home, 'gopath'),
        GOCACHE: join(home, 'gocache'),
        GOFLAGS: '-mod=mod',
        GOTOOLCHAIN: 'local',
        GOPROXY: 'off',
        GO111MODULE: 'on',
        CGO_ENABLED: '0',
      };
      const r = run('go', ['build', '-o', out, '.'], { cwd: srcDir, env });
      if (r.status !== 0) throw new Error(`go build of tests/support/go-verify failed:\n${r.output}`);
      renameSync(out, `${bin}.${process.pid}`);
      renameSync(`${bin}.${process.pid}`, bin); // atomic publish for parallel test workers
    });
  }
  goBinary = bin;
  return bin;
}

/** Go crypto/x509 `Certificate.Verify` (chain, EKU, optional DNS name, name constraints). */
export function goVerify(o: {
  leafPem: string;
  intermediatesPems?: string[];
  rootPem: string;
  dnsName?: string;
  keyUsage?: 'serverAuth' | 'clientAuth' | 'any';
  /** epoch seconds to verify at (go-verify -time), as opensslVerify's atTime; default now */
  atTime?: number;
}): VerifyResult {
  const bin = goVerifyBinary();
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'leaf.pem'), o.leafPem);
    writeFileSync(join(dir, 'root.pem'), o.rootPem);
    writeFileSync(join(dir, 'chain.pem'), joinPems(o.intermediatesPems));
    const args = [
      '-leaf',
      join(dir, 'leaf.pem'),
      '-chain',
      join(dir, 'chain.pem'),
      '-root',
      join(dir, 'root.pem'),
      '-purpose',
      o.keyUsage ?? 'any',
    ];
    if (o.dnsName) args.push('-host', o.dnsName);
    if (o.atTime !== undefined) args.push('-time', new Date(o.atTime * 1000).toISOString());
    requireBinary('go');
    const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 60_000 });
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    return { ok: r.status === 0 && output.startsWith('PASS'), output };
  });
}

/** `openssl crl -verify -text` on a DER CRL alone; `text` lists serials and reason texts. */
export function opensslCrlVerifyOnly(crlDer: Uint8Array, issuerPem: string): { ok: boolean; text: string } {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'crl.der'), crlDer);
    writeFileSync(join(dir, 'issuer.pem'), issuerPem);
    const r = run('openssl', [
      'crl',
      '-inform',
      'DER',
      '-in',
      join(dir, 'crl.der'),
      '-CAfile',
      join(dir, 'issuer.pem'),
      '-verify',
      '-noout',
      '-text',
    ]);
    return { ok: r.status === 0 && r.output.includes('verify OK'), text: r.output };
  });
}

const crlPem = (der: Uint8Array): string =>
  `-----BEGIN X509 CRL-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/.{1,64}/g, '$&\n')}-----END X509 CRL-----\n`;

/** GnuTLS `certtool --verify-crl --load-ca-certificate issuer.pem` (it prints the --crl-info text too). */
export function certtoolCrlVerify(crlDer: Uint8Array, issuerPem: string): VerifyResult {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'crl.pem'), crlPem(crlDer));
    writeFileSync(join(dir, 'issuer.pem'), issuerPem);
    const r = run('certtool', [
      '--verify-crl',
      '--load-ca-certificate',
      join(dir, 'issuer.pem'),
      '--infile',
      join(dir, 'crl.pem'),
    ]);
    return {
      ok: r.status === 0 && r.output.includes('Verification output: Verified') && !r.output.includes('Not verified'),
      output: r.output,
    };
  });
}

/** Go `x509.ParseRevocationList` + `CheckSignatureFrom`; `entries` maps serial hex → reason code (-1: none). */
export function goCrlVerify(crlDer: Uint8Array, issuerPem: string): VerifyResult & { entries: Map<string, number> } {
  const bin = goVerifyBinary();
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'crl.der'), crlDer);
    writeFileSync(join(dir, 'issuer.pem'), issuerPem);
    const r = spawnSync(bin, ['-crl', join(dir, 'crl.der'), '-issuer', join(dir, 'issuer.pem')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    const entries = new Map<string, number>();
    for (const m of output.matchAll(/^entry ([0-9a-f]+) reason (-?\d+)$/gm)) entries.set(m[1]!, Number(m[2]));
    return { ok: r.status === 0 && output.startsWith('PASS'), output, entries };
  });
}

/**
 * A CRL checked by all three independent verifiers: `openssl crl -verify`, GnuTLS `certtool --verify-crl`
 * and Go `x509.ParseRevocationList` + `CheckSignatureFrom`. `ok` only when all three accept it; `text` is
 * openssl's listing (serials, reasons), `go` holds Go's entries.
 */
export function opensslCrlVerify(
  crlDer: Uint8Array,
  issuerPem: string,
): { ok: boolean; text: string; certtool: VerifyResult; go: VerifyResult & { entries: Map<string, number> } } {
  const openssl = opensslCrlVerifyOnly(crlDer, issuerPem);
  const certtool = certtoolCrlVerify(crlDer, issuerPem);
  const go = goCrlVerify(crlDer, issuerPem);
  const failed = [
    ...(openssl.ok ? [] : ['openssl']),
    ...(certtool.ok ? [] : [`certtool: ${certtool.output.split('\n').slice(-3).join(' ')}`]),
    ...(go.ok ? [] : [`go: ${go.output}`]),
  ];
  return {
    ok: failed.length === 0,
    text: failed.length ? `${openssl.text}\nrejected by ${failed.join('; ')}` : openssl.text,
    certtool,
    go,
  };
}

/** The same three CRL verifiers under a name that says so. */
export const crlVerifyAll = opensslCrlVerify;

/** `openssl x509 -noout -text` of a PEM certificate. */
export function opensslText(pem: string): string {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'c.pem'), pem);
    const r = run('openssl', ['x509', '-noout', '-text', '-nameopt', 'RFC2253', '-in', join(dir, 'c.pem')]);
    if (r.status !== 0) throw new Error(`openssl x509 failed:\n${r.output}`);
    return r.stdout;
  });
}

/** GnuTLS `certtool --certificate-info` of a PEM certificate (its own reading of every extension). */
export function certtoolInfo(pem: string): string {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'c.pem'), pem);
    const r = run('certtool', ['--certificate-info', '--infile', join(dir, 'c.pem')]);
    if (r.status !== 0) throw new Error(`certtool --certificate-info failed:\n${r.output}`);
    return r.stdout;
  });
}

/** Runs openssl with arbitrary args (for one-off checks in tests). */
export function opensslRaw(args: string[], input?: Uint8Array): { status: number; output: string; stdout: string } {
  return run('openssl', args, { input });
}

/**
 * `openssl ocsp -respin resp.der -issuer issuer.pem -CAfile ca.pem [-reqin req.der] -resp_text`
 * with `-serial`/`-cert` to name the certificate whose status is printed.
 */
export function opensslOcspCheck(o: {
  responseDer: Uint8Array;
  issuerPem: string;
  caFilePem: string;
  leafPem?: string;
  requestDer?: Uint8Array;
  atTime?: number;
}): VerifyResult {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'resp.der'), o.responseDer);
    writeFileSync(join(dir, 'issuer.pem'), o.issuerPem);
    writeFileSync(join(dir, 'ca.pem'), o.caFilePem);
    if (o.leafPem) writeFileSync(join(dir, 'leaf.pem'), o.leafPem);
    const args = [
      'ocsp',
      '-respin',
      join(dir, 'resp.der'),
      '-issuer',
      join(dir, 'issuer.pem'),
      '-CAfile',
      join(dir, 'ca.pem'),
      '-resp_text',
    ];
    // openssl builds a fresh request (with a new nonce) from -cert and then ignores -reqin, so
    // with a request the status is read from -resp_text ("Cert Status: …") and the nonce is
    // checked against the request; without one, -cert prints "<leaf>: good|revoked|unknown".
    if (o.requestDer) {
      writeFileSync(join(dir, 'req.der'), o.requestDer);
      args.push('-reqin', join(dir, 'req.der'));
    } else args.push('-no_nonce', '-cert', join(dir, 'leaf.pem'));
    if (o.atTime !== undefined) args.push('-attime', String(o.atTime));
    const r = run('openssl', args);
    return { ok: r.status === 0 && r.output.includes('Response verify OK'), output: r.output };
  });
}

/**
 * A DER OCSP request made by `openssl ocsp -reqout` for `leafPem` issued by `issuerPem` (without nonce by default;
 * `hash: 'sha256'` for a SHA-256 CertID, `openssl ocsp -sha256`, instead of SHA-1).
 */
export function opensslOcspRequest(o: {
  issuerPem: string;
  leafPem: string;
  nonce?: boolean;
  hash?: 'sha256';
}): Uint8Array {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'issuer.pem'), o.issuerPem.endsWith('\n') ? o.issuerPem : `${o.issuerPem}\n`);
    writeFileSync(join(dir, 'leaf.pem'), o.leafPem.endsWith('\n') ? o.leafPem : `${o.leafPem}\n`);
    const args = [
      'ocsp',
      '-issuer',
      join(dir, 'issuer.pem'),
      ...(o.hash ? ['-sha256'] : []),
      '-cert',
      join(dir, 'leaf.pem'),
    ];
    args.push(o.nonce ? '-nonce' : '-no_nonce', '-reqout', join(dir, 'req.der'));
    const r = run('openssl', args);
    if (r.status !== 0) throw new Error(`openssl ocsp -reqout failed: ${r.output}`);
    return new Uint8Array(readFileSync(join(dir, 'req.der')));
  });
}

const execFileAsync = promisify(execFile);

/**
 * `openssl ocsp … -url` against our server. Asynchronous on purpose: the server runs in this
 * process, so a synchronous spawn would block it. `hash: 'sha256'` asks with a SHA-256 CertID (`-sha256`) and prints
 * the response (`-resp_text`: "Hash Algorithm: sha256").
 */
export async function opensslOcspUrl(o: {
  url: string;
  issuerPem: string;
  rootPem: string;
  leafPem: string;
  hash?: 'sha256';
}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pkim-ocsp-'));
  try {
    writeFileSync(join(dir, 'issuer.pem'), o.issuerPem);
    writeFileSync(join(dir, 'root.pem'), o.rootPem);
    writeFileSync(join(dir, 'leaf.pem'), o.leafPem);
    const { stdout, stderr } = await execFileAsync(
      'openssl',
      [
        'ocsp',
        '-issuer',
        join(dir, 'issuer.pem'),
        ...(o.hash ? ['-sha256', '-resp_text'] : []),
        '-cert',
        join(dir, 'leaf.pem'),
        '-url',
        o.url,
        '-CAfile',
        join(dir, 'root.pem'),
        '-verify_other',
        join(dir, 'issuer.pem'),
        '-timeout',
        '10',
      ],
      { timeout: 20_000 },
    ).catch((err: unknown) => {
      const e = err as { stdout?: string; stderr?: string };
      return { stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    });
    return `${stdout}${stderr}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
