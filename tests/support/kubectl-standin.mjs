// The two `kubectl` commands docs/vault-api.md's Kubernetes login walk uses, played without a cluster (kubectl and a
// cluster are not packaged here): `kubectl create token NAME -n NAMESPACE [--audience A] [--duration D]` prints a
// service-account JWT as the API server's TokenRequest makes it (RS256, `iss` https://kubernetes.default.svc.cluster.local,
// `sub` system:serviceaccount:NS:NAME, the projected `kubernetes.io` claim), signed with the stand-in cluster's
// service-account key; `kubectl get --raw /openid/v1/jwks` prints that key's JWKS, as the API server publishes it.
// The stand-in cluster's key is made on first use in $KUBE_STANDIN_DIR (default ~/.kube-standin): sa.key (private,
// what the API server signs with) and sa.pub (what a kubeadm control plane keeps at /etc/kubernetes/pki/sa.pub).
import { generateKeyPairSync, createHash, createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK } from 'jose';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const dir = process.env.KUBE_STANDIN_DIR ?? join(homedir(), '.kube-standin');

function clusterKey() {
  const keyFile = join(dir, 'sa.key');
  if (!existsSync(keyFile)) {
    mkdirSync(dir, { recursive: true });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  }
  const privateKey = createPrivateKey(readFileSync(keyFile));
  const publicKey = createPublicKey(privateKey);
  // the API server's key id: a hash of the public key's DER (URL-safe base64)
  const kid = createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64url');
  return { privateKey, publicKey, kid };
}

/** `10m`, `1h`, `3600s` → seconds (kubectl's --duration) */
function seconds(d) {
  const m = /^(\d+)(s|m|h)$/.exec(d);
  if (!m) throw new Error(`invalid --duration "${d}"`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2]];
}

function options(args) {
  const o = { positional: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.indexOf('=');
    if (a.startsWith('-') && eq > 0) o[a.slice(0, eq).replace(/^-+/, '')] = a.slice(eq + 1);
    else if (a.startsWith('-')) o[a.replace(/^-+/, '')] = args[++i];
    else o.positional.push(a);
  }
  return o;
}

async function main(argv) {
  const o = options(argv);
  const [verb, what, name] = o.positional;
  if (verb === 'create' && what === 'token' && name) {
    const namespace = o.n ?? o.namespace ?? 'default';
    const { privateKey, kid } = clusterKey();
    const jwt = await new SignJWT({
      'kubernetes.io': { namespace, serviceaccount: { name, uid: randomUUID() } },
    })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(ISSUER)
      .setSubject(`system:serviceaccount:${namespace}:${name}`)
      .setAudience(o.audience ?? ISSUER)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime(`${seconds(o.duration ?? '1h')}s`)
      .sign(privateKey);
    process.stdout.write(`${jwt}\n`);
    return 0;
  }
  if (verb === 'get' && o.raw === '/openid/v1/jwks') {
    const { publicKey, kid } = clusterKey();
    const jwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' };
    process.stdout.write(`${JSON.stringify({ keys: [jwk] })}\n`);
    return 0;
  }
  process.stderr.write(`kubectl stand-in: unsupported: kubectl ${argv.join(' ')}\n`);
  return 1;
}

process.exit(await main(process.argv.slice(2)));
