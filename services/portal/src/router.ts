import { useSyncExternalStore } from 'react';

/** A tiny history router under /portal: paths like `/portal/keys`; the gateway falls back to index.html. */
export const BASE = '/portal';
const listeners = new Set<() => void>();
const subscribe = (l: () => void) => {
  listeners.add(l);
  window.addEventListener('popstate', l);
  return () => {
    listeners.delete(l);
    window.removeEventListener('popstate', l);
  };
};

export function navigate(path: string): void {
  window.history.pushState(null, '', `${BASE}${path}`);
  for (const l of listeners) l();
}

/** The current page path without the base (`/keys`), `/` for the overview. */
export function usePath(): string {
  const pathname = useSyncExternalStore(subscribe, () => window.location.pathname);
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  return rest === '' ? '/' : rest;
}

/** The `token` of an emailed link: it travels in the URL fragment, which never reaches a server. */
export function linkToken(): string {
  return new URLSearchParams(window.location.hash.slice(1)).get('token') ?? '';
}
