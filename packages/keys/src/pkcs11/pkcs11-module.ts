/**
 * Process-wide PKCS#11 module registry. A PKCS#11 library is initialised once per process, and
 * login state is per (application, token), so backends sharing a module or token share both: the
 * module by reference count, the login by holder count (with a salted digest of the PIN that
 * logged in, so a second backend with another PIN is refused without a C_Login call).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as graphene from 'graphene-pk11';
import { PkiError } from '@pkim/shared';
import { ckrName } from './pkcs11-errors';

const CKF_OS_LOCKING_OK = 0x2;

export interface LoginState {
  salt: Buffer;
  pinDigest: Buffer;
  holders: number;
}

export interface SharedModule {
  module: graphene.Module;
  refs: number;
  /** by slot id */
  logins: Map<string, LoginState>;
}

const loadedModules = new Map<string, graphene.Module>();
const initialisedModules = new Map<string, SharedModule>();

/** Loads (once) and initialises (once per holder set) the module; kms.config_invalid when it cannot be loaded. */
export function acquireModule(modulePath: string): SharedModule {
  const shared = initialisedModules.get(modulePath);
  if (shared) {
    shared.refs++;
    return shared;
  }
  if (!existsSync(modulePath)) {
    throw new PkiError('kms.config_invalid', `PKCS#11 module not found at '${modulePath}' (check PKIM_PKCS11_MODULE)`, {
      details: { modulePath },
    });
  }
  let module = loadedModules.get(modulePath);
  if (!module) {
    try {
      module = graphene.Module.load(modulePath, 'pkim');
    } catch (e) {
      throw new PkiError(
        'kms.config_invalid',
        `PKCS#11 module '${modulePath}' could not be loaded: ${(e as Error).message}`,
        {
          details: { modulePath },
          cause: e,
        },
      );
    }
    // Never dlclose: some modules (SoftHSM2 with OpenSSL) do not survive being unloaded and reloaded.
    loadedModules.set(modulePath, module);
  }
  try {
    module.initialize({ flags: CKF_OS_LOCKING_OK });
  } catch (e) {
    throw new PkiError(
      'kms.unavailable',
      `PKCS#11 module '${modulePath}' failed to initialise (${ckrName(e) ?? (e as Error).message})`,
      {
        details: { modulePath },
        cause: e,
      },
    );
  }
  const fresh: SharedModule = { module, refs: 1, logins: new Map() };
  initialisedModules.set(modulePath, fresh);
  return fresh;
}

/** Drops one reference; the last one finalises the module (it stays loaded). */
export function releaseModule(modulePath: string, shared: SharedModule): void {
  shared.refs--;
  if (shared.refs > 0) return;
  if (initialisedModules.get(modulePath) === shared) initialisedModules.delete(modulePath);
  try {
    shared.module.finalize();
  } catch {
    // already finalised
  }
}

export function pinDigest(salt: Buffer, pin: string): Buffer {
  return createHash('sha256').update(salt).update(pin, 'utf8').digest();
}

/** CK_SLOT_ID as decimal text (as softhsm2-util and pkcs11-tool print it). */
export function slotId(slot: graphene.Slot): string {
  const h = slot.handle;
  return (h.length >= 8 ? h.readBigUInt64LE(0) : BigInt(h.readUInt32LE(0))).toString();
}
