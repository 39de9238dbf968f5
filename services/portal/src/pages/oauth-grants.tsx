import type { OAuthGrant } from '@pep/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type Page } from '../api.ts';
import { Card, ErrorNote, when } from '../ui.tsx';
import { Scroll } from './form-parts.tsx';

/**
 * The authorizations your users granted to applications on the consent page (GET /v1/oauth/grants): revoking one
 * ends its refresh tokens at once and its access tokens at the next request.
 */
export function GrantsCard({ canManage }: { canManage: boolean }) {
  const qc = useQueryClient();
  const [cursors, setCursors] = useState<string[]>([]);
  const after = cursors.at(-1);
  const grants = useQuery({
    queryKey: ['oauth-grants', after ?? ''],
    queryFn: () => api<Page<OAuthGrant>>('GET', `/v1/oauth/grants?limit=20${after ? `&starting_after=${after}` : ''}`),
  });
  const [revoked, setRevoked] = useState<OAuthGrant | null>(null);
  const revoke = useMutation({
    mutationFn: (id: string) => api<OAuthGrant>('DELETE', `/v1/oauth/grants/${id}`),
    onSuccess: (g) => {
      setRevoked(g);
      void qc.invalidateQueries({ queryKey: ['oauth-grants'] });
    },
  });
  const rows = grants.data?.data ?? [];
  return (
    <Card title="Granted authorizations">
      <p className="hint">Applications your team authorized to act for your account (consent given on the authorization page).</p>
      <ErrorNote error={grants.error ?? revoke.error} />
      {revoked && (
        <p role="status">Authorization for {revoked.application_name ?? revoked.client_id} revoked: its tokens no longer work.</p>
      )}
      <Scroll label="Granted authorizations table">
        <table>
          <thead>
            <tr>
              <th scope="col">Application</th>
              <th scope="col">Client id</th>
              <th scope="col">Scopes</th>
              <th scope="col">Granted</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((g) => (
              <tr key={g.id} data-testid="grant-row">
                <td>{g.application_name ?? g.application_id ?? '—'}</td>
                <td>
                  <code>{g.client_id}</code>
                </td>
                <td>{g.scopes.join(' ')}</td>
                <td>{when(g.granted_at)}</td>
                <td className="actions">
                  {canManage && (
                    <button type="button" className="danger" disabled={revoke.isPending} onClick={() => revoke.mutate(g.id)}>
                      Revoke<span className="sr-only"> authorization of {g.application_name ?? g.client_id}</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Scroll>
      {grants.isSuccess && rows.length === 0 && cursors.length === 0 && <p>No authorizations granted.</p>}
      {(cursors.length > 0 || grants.data?.has_more) && (
        <div className="actions-row">
          <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
            Newer
          </button>
          <button
            type="button"
            disabled={!grants.data?.has_more}
            onClick={() => {
              const last = rows.at(-1);
              if (last) setCursors([...cursors, last.id]);
            }}
          >
            Older
          </button>
        </div>
      )}
    </Card>
  );
}
