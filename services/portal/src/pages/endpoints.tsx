import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type Page, type WebhookEndpoint } from '../api.ts';
import { Card, ErrorNote, Field, Select } from '../ui.tsx';

interface EventTypes {
  data: { type: string; description: string; deliverable: boolean; origin: string }[];
}

/** Webhook endpoints (their deliveries: deliveries.tsx): create at a URL with an event-type filter from the catalog, test, enable/disable, rotate. */
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
