import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { type Application, api, type OAuthClient, type OAuthClientWithSecret, type Page } from '../api.ts';
import { Scroll } from './form-parts.tsx';
import { Card, ErrorNote, Field, Select, when } from '../ui.tsx';

/**
 * OAuth clients of the partner's applications: register one (a confidential client's secret is shown once), see its
 * redirect URIs and scopes, revoke it (its tokens stop working). The API has no secret rotation for a client: a new
 * client and revoking the old one is the rotation.
 */
export function OAuthClientsPage({ canManage }: { canManage: boolean }) {
  const qc = useQueryClient();
  const apps = useQuery({ queryKey: ['applications'], queryFn: () => api<Page<Application>>('GET', '/v1/applications?limit=100') });
  const [chosen, setChosen] = useState('');
  const appId = chosen || apps.data?.data[0]?.id || '';
  const app = apps.data?.data.find((a) => a.id === appId);
  const clients = useQuery({
    queryKey: ['oauth-clients', appId],
    enabled: appId !== '',
    queryFn: () => api<Page<OAuthClient>>('GET', `/v1/applications/${appId}/oauth-clients?limit=100`),
  });
  const [type, setType] = useState<'confidential' | 'public'>('confidential');
  const [redirects, setRedirects] = useState('');
  const [scopes, setScopes] = useState('');
  const [created, setCreated] = useState<OAuthClientWithSecret | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: ['oauth-clients', appId] });
  const create = useMutation({
    mutationFn: () =>
      api<OAuthClientWithSecret>('POST', `/v1/applications/${appId}/oauth-clients`, {
        type,
        redirect_uris: redirects.split(/[\s,]+/).filter(Boolean),
        scopes: (scopes || (app?.scopes.join(' ') ?? '')).split(/[\s,]+/).filter(Boolean),
      }),
    onSuccess: (c) => {
      setCreated(c);
      void refresh();
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api<OAuthClient>('DELETE', `/v1/oauth-clients/${id}`),
    onSuccess: refresh,
  });
  const options = apps.data?.data.map((a) => a.id) ?? [];
  return (
    <>
      <h1>OAuth clients</h1>
      <Card title="Application">
        <ErrorNote error={apps.error} />
        {options.length === 0 ? (
          <p>Create an application first: OAuth clients belong to an application.</p>
        ) : (
          <Select
            label="Application"
            value={appId}
            onChange={setChosen}
            options={options}
            labels={Object.fromEntries((apps.data?.data ?? []).map((a) => [a.id, a.name]))}
          />
        )}
      </Card>
      {canManage && appId && (
        <Card title="Register a client">
          <form
            onSubmit={(e) => {
              e.preventDefault();
              setCreated(null);
              create.mutate();
            }}
          >
            <Select
              label="Client type"
              value={type}
              onChange={(v) => setType(v === 'public' ? 'public' : 'confidential')}
              options={['confidential', 'public']}
            />
            <Field label="Redirect URIs" value={redirects} onChange={setRedirects} hint="Exact URLs, separated by spaces" />
            <Field
              label="Client scopes"
              value={scopes}
              onChange={setScopes}
              required={false}
              hint={`Separated by spaces; empty: the application's (${app?.scopes.join(' ') || 'none'})`}
            />
            <ErrorNote error={create.error} />
            <button type="submit" className="primary" disabled={create.isPending}>
              Register client
            </button>
          </form>
          {created && (
            <div className="secret" role="status">
              <p>
                Client <code data-testid="new-client-id">{created.client_id}</code> registered.
              </p>
              {created.client_secret ? (
                <>
                  <p>
                    <strong>Copy the client secret now — it is shown only this once.</strong>
                  </p>
                  <code data-testid="new-client-secret">{created.client_secret}</code>
                </>
              ) : (
                <p>A public client has no secret: it proves itself with PKCE.</p>
              )}
            </div>
          )}
        </Card>
      )}
      {appId && (
        <Card title="Clients">
          <ErrorNote error={clients.error ?? revoke.error} />
          <Scroll label="OAuth clients table">
            <table>
              <thead>
                <tr>
                  <th scope="col">Client id</th>
                  <th scope="col">Type</th>
                  <th scope="col">Redirect URIs</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {clients.data?.data.map((c) => (
                  <tr key={c.client_id}>
                    <td>
                      <code>{c.client_id}</code>
                    </td>
                    <td>{c.type}</td>
                    <td>{c.redirect_uris.join(' ')}</td>
                    <td>{c.scopes.join(' ')}</td>
                    <td data-testid="client-status">{c.status}</td>
                    <td>{when(c.created_at)}</td>
                    <td className="actions">
                      {canManage && c.status === 'active' && (
                        <button type="button" className="danger" onClick={() => revoke.mutate(c.client_id)}>
                          Revoke<span className="sr-only"> client {c.client_id}</span>
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
          {clients.data?.data.length === 0 && <p>No clients for this application yet.</p>}
        </Card>
      )}
      <Card title="Granted authorizations">
        <p>
          The authorizations people granted to your applications on the consent page are kept by the gateway's OAuth server; the public API
          has no route yet to list or revoke them (revoking a client ends every token it was given).
        </p>
      </Card>
    </>
  );
}
