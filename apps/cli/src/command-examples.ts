import type { Command } from 'commander';

/**
 * The examples `--help` shows for every command (issue #11 item 5), by command path. One table, so the examples
 * read alike and a test (apps/cli/test/cli-help.test.ts) can check that every command has one or two, that each
 * starts with its own command and uses only options the command has.
 */
export const COMMAND_EXAMPLES: Record<string, string[]> = {
  init: ['pkim init --data-dir /var/lib/pkim'],
  serve: ['pkim serve --host 0.0.0.0 --port 8200 --public-url https://pki.example.com'],
  login: ['pkim login --server https://pki.example.com --token-file token.txt'],
  logout: ['pkim logout'],
  // bash: `source <(pkim completion bash)` in ~/.bashrc does the same; zsh: restart the shell afterwards
  completion: ['pkim completion bash > /etc/bash_completion.d/pkim', 'pkim completion zsh > "${fpath[1]}/_pkim"'],
  // hidden: what the completion scripts call for names
  __complete: ['pkim __complete ca', 'pkim __complete ssh-ca'],
  backup: ['pkim backup --out pkim-2026-12-02.backup'],
  restore: ['pkim restore --from pkim-2026-12-02.backup'],

  'ca create': [
    "pkim ca create --name root --subject 'CN=Example Root CA,O=Example' --key-type ec-p384 --validity 20y",
    "pkim ca create --name issuing --parent root --subject 'CN=Example Issuing CA' --permit-dns example.com",
  ],
  'ca list': ['pkim ca list --json | jq -r .items[].name', 'pkim ca list --expiring-within 90d'],
  'ca show': ['pkim ca show issuing'],
  'ca export': ['pkim ca export issuing --chain --out issuing-chain.pem'],
  'ca import': ['pkim ca import issuing --cert issuing-signed.pem --issuer-cert outside-root.pem'],
  'ca import-existing': [
    'pkim ca import-existing --cert old-root.pem --key old-root.key --name old-root',
    'pkim ca import-existing --cert issuing.pem --key issuing.key --key-password-file pw --issuer-cert root.pem --json',
  ],
  'ca disable': ['pkim ca disable issuing'],
  'ca enable': ['pkim ca enable issuing'],
  'ca set-urls': ['pkim ca set-urls issuing --base https://pki.example.com', 'pkim ca set-urls issuing --clear'],
  'ca rename': ['pkim ca rename issuing issuing-2026', 'pkim ca rename ca_0123456789abcdef issuing --json'],
  'ca set-leaf-not-after': [
    'pkim ca set-leaf-not-after issuing truncate',
    'pkim ca set-leaf-not-after issuing err --json',
  ],
  'ca revoke': ['pkim ca revoke issuing --reason cACompromise'],
  'ca renew': ['pkim ca renew issuing --validity 2y --out issuing.pem', 'pkim ca renew root --json'],
  'ca rotate': [
    'pkim ca rotate root --key-type ec-p384 --out root-2.pem --cross-out root-2-cross.pem',
    'pkim ca rotate issuing --name issuing-2027 --disable-old',
  ],
  'ca revoke-cross': ['pkim ca revoke-cross root-2 --reason cessationOfOperation'],
  'ca delete': ['pkim ca delete old-issuing --destroy-key'],
  'ca truststore': ['pkim ca truststore issuing --format jks --password-file pass.txt --out truststore.jks'],

  'cert issue': [
    'pkim cert issue --ca issuing --cn web.example.com --ttl 30d --out-cert web.pem --out-key web.key',
    'pkim cert issue --ca issuing --profile tls-client --subject CN=alice --json',
  ],
  'cert sign': [
    'pkim cert sign --ca issuing --csr web.csr --ttl 90d --out-cert web.pem --out-chain chain.pem',
    'pkim cert sign --ca issuing --csr web.csr --json | jq -r .serial',
  ],
  'cert list': [
    'pkim cert list --search example.com --wide',
    'pkim cert list --ca issuing --expiring-within 30d --sort expiry_asc --format csv --out expiring.csv',
  ],
  'cert show': ['pkim cert show 01a249763478c2f1', 'pkim cert show crt_0mx627yjffe75d9ed73c0eb7b8aa1 --pem'],
  'cert revoke': [
    'pkim cert revoke 01a249763478c2f1 --reason keyCompromise',
    'pkim cert revoke --pem compromised.pem --ca issuing --reason keyCompromise',
  ],
  'cert delete': ['pkim cert delete 01a249763478c2f1'],
  'cert export': ['pkim cert export 01a249763478c2f1 --format p12 --password-file pass.txt --out web.p12'],
  'cert bulk': [
    'pkim cert bulk --ca issuing --profile tls-server --csv hosts.csv --dry-run',
    'pkim cert bulk --ca issuing --profile tls-server --csv hosts.csv --keys-zip keys.zip --password-file pass.txt ' +
      '--out results.csv',
  ],
  'cert revoke-batch': ['pkim cert revoke-batch --serials-file compromised.txt --reason keyCompromise'],
  'cert renew-batch': ['pkim cert renew-batch --ca issuing --expiring-within 30d --revoke-old'],
  'cert download-batch': ['pkim cert download-batch --ca issuing --status active --out issuing-certs.zip'],
  'cert renew': ['pkim cert renew 01a249763478c2f1 --ttl 90d --out-cert web.pem --out-key web.key --revoke-old'],

  'crl generate': ['pkim crl generate --ca issuing --out issuing.crl', 'pkim crl generate --ca issuing --pem'],

  'request submit': ['pkim request submit --ca issuing --csr web.csr --profile tls-server --ttl 30d'],
  'request list': ['pkim request list --status pending'],
  'request show': ['pkim request show req_0mx627yjffe75d9ed73c0eb7b8aa1'],
  'request certificate': [
    'pkim request certificate req_0mx627yjffe75d9ed73c0eb7b8aa1 --out-cert web.pem --out-chain chain.pem',
  ],
  'request approve': ['pkim request approve req_0mx627yjffe75d9ed73c0eb7b8aa1 --out web.pem'],
  'request reject': ["pkim request reject req_0mx627yjffe75d9ed73c0eb7b8aa1 --reason 'not our domain'"],

  dashboard: ['pkim dashboard', 'pkim dashboard --json | jq -r .warnings[].code'],
  'audit list': ['pkim audit list --action certificate.revoked --limit 20'],
  'audit actors': ['pkim audit actors --prefix de', 'pkim audit actors --limit 500 --json | jq -r .nextCursor'],
  'audit verify': ['pkim audit verify'],
  'audit checkpoint': ['pkim audit checkpoint'],

  'profile list': ['pkim profile list'],
  'profile show': ['pkim profile show tls-server'],
  'profile create': [
    'pkim profile create --file lab-client.json',
    'pkim profile create --file - --server https://pki.example.com',
  ],
  'profile update': ['pkim profile update lab-client --file lab-client.json'],
  'profile delete': ['pkim profile delete lab-client'],

  'ssh ca create': ['pkim ssh ca create --name prod-users --type user --environment prod --max-ttl 16h'],
  'ssh ca list': ['pkim ssh ca list --environment prod'],
  'ssh ca show': ['pkim ssh ca show prod-users'],
  'ssh ca rotate': ['pkim ssh ca rotate --type user --environment prod'],
  'ssh ca retire': ['pkim ssh ca retire'],
  'ssh sign': [
    'pkim ssh sign --ca prod-users --public-key id_ed25519.pub --principal alice --ttl 8h',
    'pkim ssh sign --ca prod-hosts --host --public-key ssh_host_ed25519_key.pub --principal web1.example.com',
  ],
  'ssh list': ['pkim ssh list --ca prod-users --status active'],
  'ssh revoke': [
    'pkim ssh revoke 42 --ca prod-users',
    "pkim ssh revoke --ca prod-users --key-id alice --reason 'left'",
  ],
  'ssh krl': ['pkim ssh krl --ca prod-users --out revoked.krl'],
  'ssh trust': ['pkim ssh trust --environment prod'],
  'ssh env create': ["pkim ssh env create prod --description 'production fleet'"],
  'ssh env list': ['pkim ssh env list'],
  'ssh host add': ['pkim ssh host add web1.example.com --environment prod'],
  'ssh host list': ['pkim ssh host list --environment prod'],
  'ssh host map': [
    'pkim ssh host map --host web1.example.com --environment prod --account deploy --principal deployers',
  ],
  'ssh host bundle': ['pkim ssh host bundle --host web1.example.com --environment prod --out ./web1-bundle'],
  'ssh user add': ['pkim ssh user add alice'],
  'ssh user list': ['pkim ssh user list'],
  'ssh user disable': ['pkim ssh user disable alice'],
  'ssh user enable': ['pkim ssh user enable alice'],
  'ssh principal add': ["pkim ssh principal add deployers --description 'may deploy'"],
  'ssh principal list': ['pkim ssh principal list'],
  'ssh principal grant': ['pkim ssh principal grant --user alice --principal deployers'],
  'ssh principal ungrant': ['pkim ssh principal ungrant --user alice --principal deployers'],
  'ssh block': ["pkim ssh block --user alice --host web1.example.com --environment prod --reason 'incident 42'"],
  'ssh unblock': ['pkim ssh unblock blk_0mx627yjffe75d9ed73c0eb7b8aa1'],
  'ssh blocks': ['pkim ssh blocks'],
  'ssh fleet-token create': ['pkim ssh fleet-token create --name web-fleet --environment prod --expires-in 30d'],
  'ssh fleet-token list': ['pkim ssh fleet-token list'],
  'ssh fleet-token revoke': ['pkim ssh fleet-token revoke tok_0mx627yjffe75d9ed73c0eb7b8aa1'],

  'db migrate': ['pkim db migrate --database-url postgres://pkim@db/pkim'],
  'db copy': ['pkim db copy --from sqlite:///var/lib/pkim/pkim.db --to postgres://pkim@db/pkim'],

  'token create': [
    'pkim token create --name ci --scope certificate:issue --ca issuing --name-pattern "*.ci.example.com"',
    'pkim token create --name monitoring --role auditor --expires 30d',
  ],
  'token list': ['pkim token list'],
  'token revoke': ['pkim token revoke tok_0mx627yjffe75d9ed73c0eb7b8aa1'],

  'user create': ['pkim user create alice --role operator', 'pkim user create bob --role requester --password-file pw'],
  'user list': ['pkim user list'],
  'user set-role': ['pkim user set-role alice auditor'],
  'user unlock': ['pkim user unlock alice'],
  'user disable': ['pkim user disable alice', 'pkim user disable alice --enable'],
  'user reset-password': ['pkim user reset-password alice'],

  'vault mount': ['pkim vault mount pki_int --ca issuing --default-ttl 720h --max-ttl 2160h'],
  'vault unmount': ['pkim vault unmount pki_int'],
  'vault mounts': ['pkim vault mounts'],

  'spiffe init': ['pkim spiffe init --trust-domain example.org'],
  'spiffe status': ['pkim spiffe status'],
  'spiffe bundle': ['pkim spiffe bundle > bundle.json', 'pkim spiffe bundle --server https://pki.example.com'],
  'spiffe list': ['pkim spiffe list --spiffe-id spiffe://example.org/node/web-1 --current'],
  'spiffe deny': ["pkim spiffe deny spiffe://example.org/node/web-1 --reason 'key leaked'"],
  'spiffe allow': ['pkim spiffe allow spiffe://example.org/node/web-1'],
  'spiffe denied': ['pkim spiffe denied'],
  'spiffe rotate': ['pkim spiffe rotate services', 'pkim spiffe rotate transport'],
  'spiffe purge': ['pkim spiffe purge'],

  'acme enable': ["pkim acme enable --ca issuing --allow-dns '*.example.com' --lifetime 90d"],
  'acme disable': ['pkim acme disable --ca issuing'],
  'acme list': ['pkim acme list'],
  'acme accounts': ['pkim acme accounts --ca issuing'],
  'acme eab create': ['pkim acme eab create --ca issuing'],
  'acme eab list': ['pkim acme eab list --ca issuing'],
  'acme eab revoke': ['pkim acme eab revoke eab_0mx627yjffe75d9ed73c0eb7b8aa1'],

  'keystore init-roles': ['pkim keystore init-roles --type thales_luna'],
  'keystore templates': ['pkim keystore templates'],
  'keystore template set': ["pkim keystore template set my_hsm --cn-pattern '{tenant}.hsm.example.com' --ttl 30d"],
  'keystore template delete': ['pkim keystore template delete my_hsm'],
  'keystore connect': ['pkim keystore connect acme thales_luna --endpoint luna.acme.example.com:1792'],
  'keystore list': ['pkim keystore list --tenant acme'],
  'keystore show': ['pkim keystore show acme thales_luna'],
  'keystore rotate': ['pkim keystore rotate acme thales_luna'],
  'keystore disconnect': ['pkim keystore disconnect acme thales_luna'],
  'keystore export': ['pkim keystore export acme thales_luna --out-dir /etc/luna/client'],
  'keystore run': ['pkim keystore run --interval 1h', 'pkim keystore run --once'],
  'keystore events': ['pkim keystore events --verify'],

  'notify rule add': [
    'pkim notify rule add expiring --webhook https://hooks.example.com/pki --days 30,7,1 --ca issuing',
    'pkim notify rule add revocations --email pki@example.com --events certificate.revoked',
  ],
  'notify rule list': ['pkim notify rule list'],
  'notify rule rotate-secret': [
    'pkim notify rule rotate-secret expiring --overlap 48h',
    'pkim notify rule rotate-secret expiring --secret-file new-secret.txt --overlap 0',
  ],
  'notify rule remove': ['pkim notify rule remove expiring'],
  'notify rule enable': ['pkim notify rule enable expiring'],
  'notify rule disable': ['pkim notify rule disable expiring'],
  'notify deliveries': ['pkim notify deliveries --rule expiring --status failed'],
  'notify run': ['pkim notify run'],
};

/** `ca create` for the command `pkim ca create` */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Adds the `Examples:` section of COMMAND_EXAMPLES to the `--help` of every command of the tree. */
export function addExamples(program: Command): void {
  const visit = (command: Command): void => {
    for (const sub of command.commands) {
      const examples = COMMAND_EXAMPLES[commandPath(sub)];
      if (examples?.length) sub.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}`);
      visit(sub);
    }
  };
  visit(program);
}
