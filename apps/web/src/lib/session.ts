/** The CSRF token of the console session (the session itself is an HttpOnly cookie). */
const KEY = 'pkim-csrf';

export function getCsrfToken(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setCsrfToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
  } catch {
    /* storage unavailable */
  }
}

/** Fetches the CSRF token of the current cookie session (after an OIDC sign-in, which returns none to scripts). */
export async function loadCsrfToken(): Promise<void> {
  const res = await fetch('/auth/csrf', { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (!res.ok) return;
  const body = (await res.json()) as { csrfToken?: unknown };
  if (typeof body.csrfToken === 'string') setCsrfToken(body.csrfToken);
}

/** The OIDC provider of the sign-in page, when the server has one configured. */
export interface OidcProviderInfo {
  enabled: boolean;
  name?: string;
  loginUrl?: string;
}

export async function loadOidcProvider(): Promise<OidcProviderInfo> {
  const res = await fetch('/auth/oidc/config', { headers: { accept: 'application/json' } });
  if (!res.ok) return { enabled: false };
  return (await res.json()) as OidcProviderInfo;
}
