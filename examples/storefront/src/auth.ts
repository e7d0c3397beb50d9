// The signed-in session: an access token (short-lived) and a refresh token, kept in
// sessionStorage so that closing the tab signs out. Components re-render through `useSession`.
import { useSyncExternalStore } from 'react';

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

const KEY = 'pupitre.session';
const listeners = new Set<() => void>();
let current: Tokens | null = read();

function read(): Tokens | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Tokens) : null;
  } catch {
    return null;
  }
}

export const session = {
  get: (): Tokens | null => current,
  set(t: { accessToken: string; refreshToken: string; expiresIn: number }) {
    current = { accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: Date.now() + t.expiresIn * 1000 };
    sessionStorage.setItem(KEY, JSON.stringify(current));
    listeners.forEach((l) => l());
  },
  clear() {
    current = null;
    sessionStorage.removeItem(KEY);
    listeners.forEach((l) => l());
  },
  subscribe(l: () => void) {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

export function useSession(): Tokens | null {
  return useSyncExternalStore(session.subscribe, session.get);
}
