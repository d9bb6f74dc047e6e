import { useSyncExternalStore } from 'react';

/** A short confirmation shown over whatever page comes next (e.g. "Deleted …" after leaving a deleted record). */
export interface Toast {
  id: number;
  title: string;
  description?: string;
}

/** how long a toast stays unless closed (paused while the pointer is over it) */
export const TOAST_MS = 10_000;
let toasts: readonly Toast[] = [];
let nextId = 1;
const listeners = new Set<() => void>();
const emit = () => listeners.forEach((l) => l());

export function toast(t: Omit<Toast, 'id'>): void {
  toasts = [...toasts, { ...t, id: nextId++ }].slice(-3);
  emit();
}

export function dismissToast(id: number): void {
  toasts = toasts.filter((t) => t.id !== id);
  emit();
}

export function useToasts(): readonly Toast[] {
  return useSyncExternalStore(
    (cb) => {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    () => toasts,
    () => toasts,
  );
}
