import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { type ApiKey, type ApiKeyWithSecret, api, type Page } from '../api.ts';
import { Card, ErrorNote, Field, when } from '../ui.tsx';

/** API keys: create (the secret is shown once), rotate with overlap, revoke. */
export function KeysPage({ partnerId }: { partnerId: string }) {
  const qc = useQueryClient();
  const path = `/v1/partners/${partnerId}/api-keys`;
  const keys = useQuery({ queryKey: ['keys', partnerId], queryFn: () => api<Page<ApiKey>>('GET', `${path}?limit=100`) });
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState('read:*');
  const [secret, setSecret] = useState<ApiKeyWithSecret | null>(null);
  const done = (k: ApiKeyWithSecret) => {
    setSecret(k);
    void qc.invalidateQueries({ queryKey: ['keys', partnerId] });
  };
  const create = useMutation({
    mutationFn: () => api<ApiKeyWithSecret>('POST', path, { name, scopes: scopes.split(/[\s,]+/).filter(Boolean) }),
    onSuccess: done,
  });
  const rotate = useMutation({
    mutationFn: (id: string) => api<ApiKeyWithSecret>('POST', `/v1/api-keys/${id}/rotate`, { overlap_hours: 24 }),
    onSuccess: done,
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api<ApiKey>('DELETE', `/v1/api-keys/${id}`),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['keys', partnerId] }),
  });
  return (
    <>
      <h1>API keys</h1>
      <Card title="Create a key">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <Field label="Name" value={name} onChange={setName} />
          <Field label="Scopes" value={scopes} onChange={setScopes} hint="Separated by spaces, e.g. read:* write:events" />
          <ErrorNote error={create.error ?? rotate.error ?? revoke.error} />
          <button type="submit" className="primary" disabled={create.isPending}>
            Create key
          </button>
        </form>
        {secret && (
          <div className="secret" role="status">
            <p>
              <strong>Copy the key now — it is shown only this once.</strong>
            </p>
            <code data-testid="new-secret">{secret.key}</code>
          </div>
        )}
      </Card>
      <Card title="Keys">
        <ErrorNote error={keys.error} />
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Scopes</th>
              <th scope="col">Status</th>
              <th scope="col">Last used</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {keys.data?.data.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix}</code>
                </td>
                <td>{k.scopes.join(' ')}</td>
                <td>{k.status}</td>
                <td>{when(k.last_used_at)}</td>
                <td className="actions">
                  {k.status === 'active' && (
                    <>
                      <button type="button" onClick={() => rotate.mutate(k.id)}>
                        Rotate<span className="sr-only"> {k.name}</span>
                      </button>
                      <button type="button" className="danger" onClick={() => revoke.mutate(k.id)}>
                        Revoke<span className="sr-only"> {k.name}</span>
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </>
  );
}
