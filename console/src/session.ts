// Who is signed in, kept in this tab's sessionStorage only: never localStorage, a cookie or a URL,
// so the token is gone when the tab closes and no other tab or request carries it.
export type Role = 'tenant' | 'operator';

export interface Session {
  role: Role;
  token: string;
}

const KEY = 'adbfleet.session';

export function loadSession(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (raw === null) return null;
  try {
    const s = JSON.parse(raw) as Partial<Session>;
    if ((s.role === 'tenant' || s.role === 'operator') && typeof s.token === 'string') return { role: s.role, token: s.token };
  } catch {
    // A value this console did not write: treated as signed out.
  }
  return null;
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}
