/**
 * The key backends PKI Manager knows, by name. A new backend is one folder under src/ (its
 * implementation plus a `KeyBackendRegistration`) and one entry in this list; the authority offers
 * every registered backend whose configuration is present and routes key URIs by scheme.
 */
import { SOFTWARE_REGISTRATION } from './software/software-registration';
import { PKCS11_REGISTRATION } from './pkcs11/pkcs11-registration';
import { KMIP_REGISTRATION } from './kmip/kmip-registration';

export const KEY_BACKEND_REGISTRY = [SOFTWARE_REGISTRATION, PKCS11_REGISTRATION, KMIP_REGISTRATION] as const;

/** The names of the registered backends ('software' | 'pkcs11' | 'kmip'). */
export type BackendName = (typeof KEY_BACKEND_REGISTRY)[number]['name'];

export const BACKEND_NAMES: readonly BackendName[] = KEY_BACKEND_REGISTRY.map((r) => r.name);

export function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

/** The registration of a backend name or URI scheme, if any. */
export function keyBackendRegistration(name: string): (typeof KEY_BACKEND_REGISTRY)[number] | undefined {
  return KEY_BACKEND_REGISTRY.find((r) => r.name === name || r.uriScheme === name);
}
