// Every command's mode in one table: the commands that run against a server (their REST twin's procedure), the ones
// that stay on this machine and why, and the ones that are the same in both modes. apps/cli/test/remote-coverage
// .test.ts walks the command tree and fails for a command that is in none of them.
import { ADMIN_REMOTE_COMMANDS } from './remote-admin-commands';
import { BULK_REMOTE_COMMANDS } from './remote-bulk-commands';
import { CORE_REMOTE_COMMANDS, type RemoteCommand } from './remote-commands';
import { SSH_REMOTE_COMMANDS } from './remote-ssh-commands';

/** command path (`ca create`) → its remote form */
export const REMOTE_COMMANDS: Readonly<Record<string, RemoteCommand>> = {
  ...CORE_REMOTE_COMMANDS,
  ...ADMIN_REMOTE_COMMANDS,
  ...SSH_REMOTE_COMMANDS,
  ...BULK_REMOTE_COMMANDS,
};

/** Commands (or groups) that work on this machine only, whatever the mode, with the reason the refusal gives. */
export const LOCAL_ONLY: Readonly<Record<string, string>> = {
  init: 'it creates the data directory, database and key-encryption key here',
  serve: 'it starts a server on this machine',
  db: 'migrations and copies work on a database this machine opens',
  backup: 'it archives the data directory of this machine',
  restore: 'it restores a data directory on this machine',
  'audit checkpoint': 'it signs with a key derived from the master key, which never leaves the server',
  keystore:
    'it is itself a client of a Vault-compatible API with its own state file: point it at the server with --vault-addr',
  'notify run': 'it runs the delivery job of the data directory here (a server runs it on its own schedule)',
};

/**
 * Commands that are the same in both modes (they do not touch a data directory or a server's data), and the
 * completion scripts' hidden `__complete`, which reads names from whichever the command line points at.
 */
export const EITHER_MODE = ['login', 'logout', 'completion', 'help', '__complete'];
