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
