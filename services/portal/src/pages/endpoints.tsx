import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { type Attempt, api, type Delivery, type Page, type WebhookEndpoint } from '../api.ts';
import { Card, ErrorNote, Field, Select, when } from '../ui.tsx';

interface EventTypes {
  data: { type: string; description: string; deliverable: boolean; origin: string }[];
}

/** Webhook endpoints: create at a URL with an event-type filter from the catalog, test, enable/disable, rotate. */
export function EndpointsPage() {
  const qc = useQueryClient();
  const endpoints = useQuery({
    queryKey: ['endpoints'],
    queryFn: () => api<Page<WebhookEndpoint>>('GET', '/v1/webhook-endpoints?limit=100'),
  });
  const types = useQuery({ queryKey: ['event-types'], queryFn: () => api<EventTypes>('GET', '/v1/event-types') });
  const [url, setUrl] = useState('');
  const [filter, setFilter] = useState('lead.*');
  const [note, setNote] = useState('');
  const refresh = () => qc.invalidateQueries({ queryKey: ['endpoints'] });
  const create = useMutation({
    mutationFn: () => api('POST', '/v1/webhook-endpoints', { url, event_types: [filter] }),
    onSuccess: refresh,
  });
  const toggle = useMutation({
    mutationFn: (e: WebhookEndpoint) => api('PATCH', `/v1/webhook-endpoints/${e.id}`, { enabled: !e.enabled }),
    onSuccess: refresh,
  });
  const rotate = useMutation({
    mutationFn: (id: string) => api('POST', `/v1/webhook-endpoints/${id}/secret/rotate`, {}),
    onSuccess: () => setNote('Secret rotated; the previous one keeps signing for the overlap window.'),
  });
  const test = useMutation({
    mutationFn: () =>
      api('POST', '/v1/events', {
        specversion: '1.0',
        id: `portal-test-${Date.now()}`,
        source: 'urn:portal:test',
        type: 'lead.created',
        time: new Date().toISOString(),
        data: { lead_id: `test-${Date.now()}`, email: 'test.lead@example.com' },
      }),
    onSuccess: () => setNote('Test event lead.created sent; it appears under Deliveries for every endpoint that matches it.'),
  });
  const deliverable = types.data?.data.filter((t) => t.deliverable && t.origin === 'external').map((t) => t.type) ?? [];
  const filters = ['*', 'lead.*', 'policy.*', 'claim.*', 'user.*', 'integration.*', 'billing.*', ...deliverable];
  return (
    <>
      <h1>Webhook endpoints</h1>
      <Card title="Add an endpoint">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <Field label="Endpoint URL" type="url" value={url} onChange={setUrl} />
          <Select label="Event types" value={filter} onChange={setFilter} options={[...new Set(filters)]} />
          <ErrorNote error={create.error ?? toggle.error ?? rotate.error ?? test.error} />
          <button type="submit" className="primary" disabled={create.isPending}>
            Add endpoint
          </button>
        </form>
      </Card>
      <Card title="Endpoints">
        <p>
          <button type="button" onClick={() => test.mutate()}>
            Send test event (lead.created)
          </button>
        </p>
        {note && <p role="status">{note}</p>}
        <table>
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Event types</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {endpoints.data?.data.map((e) => (
              <tr key={e.id}>
                <td>
                  <code>{e.url}</code>
                </td>
                <td>{e.event_types.join(', ')}</td>
                <td>{e.enabled ? 'enabled' : `disabled${e.disabled_reason ? ` (${e.disabled_reason})` : ''}`}</td>
                <td className="actions">
                  <button type="button" onClick={() => toggle.mutate(e)}>
                    {e.enabled ? 'Disable' : 'Enable'}
                  </button>
                  <button type="button" onClick={() => rotate.mutate(e.id)}>
                    Rotate secret
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </>
  );
}

/** Deliveries of one endpoint with their attempts (status filter), and resend. */
export function DeliveriesPage() {
  const qc = useQueryClient();
  const endpoints = useQuery({
    queryKey: ['endpoints'],
    queryFn: () => api<Page<WebhookEndpoint>>('GET', '/v1/webhook-endpoints?limit=100'),
  });
  const [chosen, setChosen] = useState('');
  const [status, setStatus] = useState('any');
  const endpointId = chosen || endpoints.data?.data[0]?.id || '';
  const deliveries = useQuery({
    queryKey: ['deliveries', endpointId, status],
    enabled: endpointId !== '',
    queryFn: () =>
      api<Page<Delivery>>('GET', `/v1/webhook-endpoints/${endpointId}/deliveries?limit=50${status === 'any' ? '' : `&status=${status}`}`),
  });
  const [open, setOpen] = useState('');
  const attempts = useQuery({
    queryKey: ['attempts', open],
    enabled: open !== '',
    queryFn: () => api<Page<Attempt>>('GET', `/v1/deliveries/${open}/attempts`),
  });
  const resend = useMutation({
    mutationFn: (id: string) => api('POST', `/v1/deliveries/${id}/resend`, {}),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['deliveries'] });
      void qc.invalidateQueries({ queryKey: ['attempts'] });
    },
  });
  return (
    <>
      <h1>Deliveries</h1>
      <Card title="Filter">
        <div className="row">
          <Select label="Endpoint" value={endpointId} onChange={setChosen} options={endpoints.data?.data.map((e) => e.id) ?? []} />
          <Select label="Status" value={status} onChange={setStatus} options={['any', 'pending', 'succeeded', 'failed']} />
        </div>
      </Card>
      <Card title="Attempt log">
        <ErrorNote error={deliveries.error ?? resend.error} />
        <table>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last code</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.data?.data.map((d) => (
              <tr key={d.id}>
                <td>{d.event_type}</td>
                <td data-testid="delivery-status">{d.status}</td>
                <td>{d.attempts}</td>
                <td>{d.last_status_code ?? '—'}</td>
                <td>{when(d.created_at)}</td>
                <td className="actions">
                  <button type="button" onClick={() => setOpen(d.id)}>
                    Attempts
                  </button>
                  <button type="button" onClick={() => resend.mutate(d.id)}>
                    Resend
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {open && (
          <ul aria-label="Attempts of the delivery" data-testid="attempts">
            {attempts.data?.data.map((a) => (
              <li key={a.id}>
                #{a.attempt} {a.outcome} {a.status_code ?? ''} in {Math.round(a.latency_ms)} ms at {when(a.started_at)}
              </li>
            ))}
          </ul>
        )}
      </Card>
    </>
  );
}
