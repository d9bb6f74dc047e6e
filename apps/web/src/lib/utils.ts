import { clsx, type ClassValue } from 'clsx';
import { twMerge } from 'tailwind-merge';

export function cn(...inputs: ClassValue[]): string {
  return twMerge(clsx(inputs));
}

const DAY = 86_400_000;

/** a time from the API: an RFC 3339 string (the contract) or epoch milliseconds (older read models) */
export type ApiTime = string | number;
const toMs = (t: ApiTime): number => (typeof t === 'string' ? Date.parse(t) : t);

export function formatDate(t: ApiTime | null | undefined): string {
  if (t === null || t === undefined) return '—';
  return new Date(toMs(t)).toISOString().slice(0, 10);
}

export function formatDateTime(t: ApiTime | null | undefined): string {
  if (t === null || t === undefined) return '—';
  return new Date(toMs(t)).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

/** "in 12 days", "3 days ago", "today" */
export function relativeDays(t: ApiTime, now = Date.now()): string {
  const d = Math.round((toMs(t) - now) / DAY);
  if (d === 0) return 'today';
  if (d > 0) return `in ${d} day${d === 1 ? '' : 's'}`;
  return `${-d} day${d === -1 ? '' : 's'} ago`;
}

/** aa:bb:cc… for serials and fingerprints */
export function colonHex(hex: string): string {
  return hex.replace(/(..)(?!$)/g, '$1:');
}

export function shortHex(hex: string, n = 16): string {
  return hex.length > n ? `${hex.slice(0, n)}…` : hex;
}

/** offers text as a file download (PEM, keys); nothing leaves the browser */
export function downloadText(filename: string, text: string, type = 'application/x-pem-file'): void {
  saveBlob(filename, new Blob([text], { type }));
}

function saveBlob(filename: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function daysFromNow(t: ApiTime, now = Date.now()): number {
  return Math.floor((toMs(t) - now) / DAY);
}

/** saves a file the API returned as base64 (exports) */
export function downloadBase64(filename: string, base64: string, type: string): void {
  saveBlob(filename, new Blob([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], { type }));
}
