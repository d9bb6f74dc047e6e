// `pkim ssh trust`'s output, local and remote alike: `--user` prints the environment's TrustedUserCAKeys file and
// `--host` its known_hosts lines, each exactly as the file is (to redirect: `pkim ssh trust --user >
// /etc/ssh/trusted_user_ca_keys.pub`); without them, both under `#` headers to read; `--json` the contract's object.
import { PkiError } from '@pkim/shared';
import type { CliContext } from './cli-context';

export interface SshTrustOptions {
  environment?: string;
  user?: boolean;
  host?: boolean;
}

/** which one file the options ask for (undefined: both, to read), refused before anything is asked */
export function sshTrustFile(o: SshTrustOptions, json: boolean): 'user' | 'host' | undefined {
  if (o.user && o.host)
    throw new PkiError('input.invalid', '--user and --host each print one file: give one (or neither, to read both)');
  const file = o.user ? 'user' : o.host ? 'host' : undefined;
  if (file && json)
    throw new PkiError('input.invalid', `--${file} prints the file itself, --json the object of both: give one`);
  return file;
}

/** the output of `ssh trust` (`trust`: the authority's answer or the contract's object — the same two strings) */
export function printSshTrust(
  ctx: CliContext,
  dto: unknown,
  trust: { userCaKeys: string; knownHosts: string },
  o: SshTrustOptions,
): void {
  const file = sshTrustFile(o, !!ctx.options().json);
  const env = o.environment ?? 'default';
  if (file) {
    const content = file === 'user' ? trust.userCaKeys : trust.knownHosts;
    // an empty file would trust nothing without a word: refused, naming what is missing
    if (!content) {
      throw new PkiError(
        'ssh.ca_not_found',
        `environment ${env} trusts no ${file} CA: no ${file === 'user' ? 'TrustedUserCAKeys' : 'known_hosts'} ` +
          `lines to print (pkim ssh ca create --type ${file} --environment ${env})`,
      );
    }
    ctx.io.stdout.write(content.endsWith('\n') ? content : `${content}\n`);
    return;
  }
  ctx.output(
    dto,
    () =>
      `# TrustedUserCAKeys\n${trust.userCaKeys || '(no user CA)\n'}\n` +
      `# known_hosts\n${trust.knownHosts || '(no host CA)\n'}`,
  );
}
