import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { type Application, api, type Integration, type Page } from '../api.ts';
import { Scroll } from './form-parts.tsx';
import { Card, ErrorNote, Select, when } from '../ui.tsx';
import { BarChart, hourLabel, LineChart } from './charts.tsx';
import { MappingsCard } from './integrations-mappings.tsx';

const HEALTH = ['any', 'up', 'degraded', 'down', 'unknown'] as const;

interface TrafficHour {
  hour: string;
  calls: number;
  succeeded: number;
  success_rate: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  errors: Record<string, number>;
}
interface Traffic {
  data: TrafficHour[];
}

/** Integrations of the partner's applications: list with health; one integration's metrics, errors and mappings. */
export function IntegrationsPage({ canWrite }: { canWrite: boolean }) {
  const [health, setHealth] = useState('any');
  const [open, setOpen] = useState('');
  const list = useQuery({
    queryKey: ['integrations', health],
    queryFn: () => api<Page<Integration>>('GET', `/v1/integrations?limit=100${health === 'any' ? '' : `&health=${health}`}`),
  });
  const apps = useQuery({ queryKey: ['applications'], queryFn: () => api<Page<Application>>('GET', '/v1/applications?limit=100') });
  const appName = (id: string) => apps.data?.data.find((a) => a.id === id)?.name ?? id;
  const current = list.data?.data.find((i) => i.id === open);
  return (
    <>
      <h1>Integrations</h1>
      <Card title="Integrations and their health">
        <Select label="Health" value={health} onChange={setHealth} options={HEALTH} />
        <ErrorNote error={list.error} />
        <Scroll label="Integrations table">
          <table>
            <thead>
              <tr>
                <th scope="col">Customer</th>
                <th scope="col">Application</th>
                <th scope="col">Status</th>
                <th scope="col">Health</th>
                <th scope="col">Last check</th>
                <th scope="col">Error rate</th>
              </tr>
            </thead>
            <tbody>
              {list.data?.data.map((i) => (
                <tr key={i.id}>
                  <td>
                    <button type="button" className="link" aria-expanded={open === i.id} onClick={() => setOpen(i.id)}>
                      <span className="sr-only">Details of </span>
                      {i.customer_id}
                    </button>
                  </td>
                  <td>{appName(i.application_id)}</td>
                  <td>{i.status}</td>
                  <td>
                    <span className={`pill ${i.health.status}`}>{i.health.status}</span>
                  </td>
                  <td>{when(i.health.last_checked_at)}</td>
                  <td>{Math.round(i.metrics.error_rate * 1000) / 10} %</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
        {list.data?.data.length === 0 && (
          <p>No integrations yet: they appear when a customer installs one of your published applications.</p>
        )}
      </Card>
      {current && <IntegrationDetail integration={current} canWrite={canWrite} />}
    </>
  );
}

function IntegrationDetail({ integration: i, canWrite }: { integration: Integration; canWrite: boolean }) {
  const traffic = useQuery({
    queryKey: ['integration-traffic', i.id],
    queryFn: () => api<Traffic>('GET', `/v1/integrations/${i.id}/traffic`),
  });
  const hours = traffic.data?.data ?? [];
  const calls = hours.reduce((n, h) => n + h.calls, 0);
  const ok = hours.reduce((n, h) => n + h.succeeded, 0);
  const errorClasses = new Map<string, number>();
  for (const h of hours) for (const [k, v] of Object.entries(h.errors)) errorClasses.set(k, (errorClasses.get(k) ?? 0) + v);
  return (
    <>
      <Card title={`Integration ${i.customer_id}`}>
        <dl className="facts">
          <dt>Health</dt>
          <dd>
            {i.health.status}
            {i.health.consecutive_failures > 0 ? ` (${i.health.consecutive_failures} failed checks in a row)` : ''}
          </dd>
          <dt>Health checks</dt>
          <dd>
            {i.metrics.calls} calls, {i.metrics.errors} errors
          </dd>
          <dt>Average check latency</dt>
          <dd>{i.metrics.avg_latency_ms === null ? '—' : `${Math.round(i.metrics.avg_latency_ms)} ms`}</dd>
          <dt>Connected</dt>
          <dd>{when(i.connected_at)}</dd>
        </dl>
        <h3>Recent errors</h3>
        {i.recent_errors.length === 0 ? (
          <p>No errors.</p>
        ) : (
          <ul>
            {i.recent_errors.map((e) => (
              <li key={e.message}>
                {e.message} — {e.count}× (last {when(e.last_seen_at)})
              </li>
            ))}
          </ul>
        )}
      </Card>
      <Card title="Webhook traffic, last 24 hours">
        <ErrorNote error={traffic.error} />
        <p>
          {calls} attempts, {ok} succeeded{calls ? ` (${Math.round((100 * ok) / calls)} %)` : ''}.
          {errorClasses.size > 0 && ` Failures by class: ${[...errorClasses].map(([k, v]) => `${k} ${v}`).join(', ')}.`}
        </p>
        <div className="charts">
          <BarChart
            title="Attempts per hour"
            summary={`${calls} webhook attempts in ${hours.length} hours with traffic`}
            points={hours.map((h) => ({ label: hourLabel(h.hour), value: h.calls }))}
          />
          <LineChart
            title="p95 latency per hour"
            unit="ms"
            summary="95th percentile latency of the sent attempts, per hour"
            points={hours.filter((h) => h.latency_ms.p95 !== null).map((h) => ({ label: hourLabel(h.hour), value: h.latency_ms.p95 ?? 0 }))}
          />
        </div>
      </Card>
      <MappingsCard integrationId={i.id} canWrite={canWrite} />
    </>
  );
}
