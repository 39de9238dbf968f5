// One integration's real traffic (GET /v1/integrations/{id}/metrics) and its errors (GET .../errors) with filters
// and cursor pagination.
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type Page } from '../api.ts';
import { Card, ErrorNote, Field, Select, when } from '../ui.tsx';
import { BarChart, hourLabel, LineChart } from './charts.tsx';
import { localToIso, Scroll } from './form-parts.tsx';

interface MetricsHour {
  hour: string;
  calls: number;
  webhook_attempts: number;
  api_requests: number;
  succeeded: number;
  success_rate: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  errors: Record<string, number>;
}
interface Metrics {
  from: string;
  to: string;
  data: MetricsHour[];
}
interface IntegrationError {
  id: string;
  class: string;
  event_id: string;
  event_type: string;
  delivery_id: string;
  attempt: number | null;
  status_code: number | null;
  message: string | null;
  excerpt: string | null;
  mapping_version: number | null;
  occurred_at: string;
}

const CLASSES = ['any', 'timeout', 'tls', 'network', 'http_4xx', 'http_5xx', 'rate_limited', 'mapping'] as const;
const pct = (r: number) => `${Math.round(r * 1000) / 10} %`;
const ms = (v: number | null) => (v === null ? '—' : `${Math.round(v)} ms`);

/** Hourly calls, success rate, latency percentiles and error classes from the integration's real traffic. */
export function MetricsCard({ integrationId }: { integrationId: string }) {
  const metrics = useQuery({
    queryKey: ['integration-metrics', integrationId],
    queryFn: () => api<Metrics>('GET', `/v1/integrations/${integrationId}/metrics`),
  });
  const hours = metrics.data?.data ?? [];
  const calls = hours.reduce((n, h) => n + h.calls, 0);
  const ok = hours.reduce((n, h) => n + h.succeeded, 0);
  const classes = new Map<string, number>();
  for (const h of hours) for (const [k, v] of Object.entries(h.errors)) classes.set(k, (classes.get(k) ?? 0) + v);
  return (
    <Card title="Traffic metrics per hour">
      <ErrorNote error={metrics.error} />
      <p>
        {calls} calls, {ok} succeeded{calls ? ` (${pct(ok / calls)})` : ''}.
        {classes.size > 0 && ` Errors by class: ${[...classes].map(([k, v]) => `${k} ${v}`).join(', ')}.`}
      </p>
      <div className="charts">
        <BarChart
          title="Calls per hour"
          summary={`${calls} calls (webhook attempts and API requests) in ${hours.length} hours with traffic`}
          points={hours.map((h) => ({ label: hourLabel(h.hour), value: h.calls }))}
        />
        <LineChart
          title="Success rate per hour"
          unit="%"
          max={100}
          summary="Share of calls that succeeded, per hour"
          points={hours.map((h) => ({ label: hourLabel(h.hour), value: Math.round(h.success_rate * 1000) / 10 }))}
        />
      </div>
      {hours.length > 0 && (
        <Scroll label="Metrics per hour table">
          <table>
            <thead>
              <tr>
                <th scope="col">Hour</th>
                <th scope="col">Calls</th>
                <th scope="col">Success rate</th>
                <th scope="col">p50</th>
                <th scope="col">p95</th>
                <th scope="col">p99</th>
                <th scope="col">Error classes</th>
              </tr>
            </thead>
            <tbody>
              {hours.map((h) => (
                <tr key={h.hour}>
                  <td>{when(h.hour)}</td>
                  <td>
                    {h.calls} ({h.webhook_attempts} webhook, {h.api_requests} API)
                  </td>
                  <td>{pct(h.success_rate)}</td>
                  <td>{ms(h.latency_ms.p50)}</td>
                  <td>{ms(h.latency_ms.p95)}</td>
                  <td>{ms(h.latency_ms.p99)}</td>
                  <td>
                    {Object.entries(h.errors)
                      .map(([k, v]) => `${k} ${v}`)
                      .join(', ') || '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
    </Card>
  );
}

/** The integration's errors, newest first, filtered by class, event type and time, a page at a time. */
export function ErrorsCard({ integrationId }: { integrationId: string }) {
  const [cls, setCls] = useState('any');
  const [eventType, setEventType] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const after = cursors.at(-1);
  const query = new URLSearchParams({ limit: '20' });
  if (cls !== 'any') query.set('class', cls);
  if (eventType.trim()) query.set('event_type', eventType.trim());
  if (from) query.set('from', localToIso(from));
  if (to) query.set('to', localToIso(to));
  if (after) query.set('starting_after', after);
  const errors = useQuery({
    queryKey: ['integration-errors', integrationId, query.toString()],
    queryFn: () => api<Page<IntegrationError>>('GET', `/v1/integrations/${integrationId}/errors?${query}`),
  });
  const filter = (set: (v: string) => void) => (v: string) => {
    set(v);
    setCursors([]);
  };
  const rows = errors.data?.data ?? [];
  return (
    <Card title="Integration errors">
      <div className="row">
        <Select label="Error class" value={cls} onChange={filter(setCls)} options={CLASSES} />
        <Field label="Event type" value={eventType} onChange={filter(setEventType)} required={false} hint="e.g. partner.updated" />
        <Field label="From" type="datetime-local" value={from} onChange={filter(setFrom)} required={false} />
        <Field label="To" type="datetime-local" value={to} onChange={filter(setTo)} required={false} />
      </div>
      <ErrorNote error={errors.error} />
      <Scroll label="Integration errors table">
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Class</th>
              <th scope="col">Event type</th>
              <th scope="col">Attempt</th>
              <th scope="col">Status</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.id}>
                <td>{when(e.occurred_at)}</td>
                <td>{e.class}</td>
                <td>{e.event_type}</td>
                <td>{e.attempt ?? '—'}</td>
                <td>{e.status_code ?? '—'}</td>
                <td>
                  {e.message ?? '—'}
                  {e.excerpt && (
                    <>
                      <br />
                      <code>{e.excerpt}</code>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Scroll>
      {errors.isSuccess && rows.length === 0 && <p>No errors match.</p>}
      <div className="actions-row">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer errors
        </button>
        <button
          type="button"
          disabled={!errors.data?.has_more}
          onClick={() => {
            const last = rows.at(-1);
            if (last) setCursors([...cursors, last.id]);
          }}
        >
          Older errors
        </button>
      </div>
    </Card>
  );
}
