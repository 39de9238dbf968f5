import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, api, type SignedIn, setCsrfToken } from './api.ts';

/** The signed-in user (null when there is no session); keeps the CSRF token for writes. */
export function useSession() {
  return useQuery({
    queryKey: ['session'],
    retry: false,
    queryFn: async (): Promise<SignedIn | null> => {
      try {
        const s = await api<SignedIn>('GET', '/v1/auth/session');
        setCsrfToken(s.csrf_token);
        return s;
      } catch (err) {
        if (err instanceof ApiError && (err.problem.status === 401 || err.problem.status === 403)) return null;
        throw err;
      }
    },
  });
}

/** After a sign-in answer: remember the session without another round trip. */
export function useSignedIn() {
  const qc = useQueryClient();
  return (s: SignedIn) => {
    setCsrfToken(s.csrf_token);
    qc.setQueryData(['session'], s);
  };
}

/** Whether the session's scopes allow a scope (the same nesting as the gateway: admin, manage ⊃ write ⊃ read). */
export function allows(scopes: readonly string[], required: string): boolean {
  if (scopes.includes('admin')) return true;
  const rank: Record<string, number> = { read: 1, write: 2, manage: 3 };
  const [verb = '', resource = ''] = required.split(':');
  return scopes.some((g) => {
    const [v = '', r = ''] = g.split(':');
    return (rank[v] ?? 0) >= (rank[verb] ?? 9) && (r === '*' || r === resource);
  });
}
