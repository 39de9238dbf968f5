import { useQueries, useQuery } from '@tanstack/react-query';
import { type Attempt, api, type Delivery, type Page, type SignedIn, type WebhookEndpoint } from '../api.ts';
import { allows } from '../session.ts';
import { Card } from '../ui.tsx';
import { BarChart, hourLabel, LineChart } from './charts.tsx';
import { byMeter, type UsageReport } from './usage.tsx';

interface IncidentSummary {
  id: string;
  status: 'open' | 'resolved';
}

const HOUR = 3_600_000;
/** The last 24 hours as hour starts, oldest first. */
function lastHours(now: number): number[] {
  const top = Math.floor(now / HOUR) * HOUR;
  return Array.from({ length: 24 }, (_, i) => top - (23 - i) * HOUR);
}

/**
 * The partner at a glance, from the routes the role may read: deliveries of the endpoints in the last 24 hours
 * (count per hour, success rate, latency of the latest attempts), open incidents, and usage this period
 * (events published, deliveries, API requests) for roles that see billing.
 */
export function OverviewPage({ session }: { session: SignedIn }) {
  const s = session.scopes;
  const canWebhooks = allows(s, 'read:webhooks');
  const canIncidents = allows(s, 'read:incidents') && session.user.role !== 'platform_admin';
  const canBilling = allows(s, 'read:billing') && session.user.role !== 'platform_admin';
  const since = new Date(Date.now() - 24 * HOUR).toISOString();
  const endpoints = useQuery({
    queryKey: ['endpoints'],
    enabled: canWebhooks,
    queryFn: () => api<Page<WebhookEndpoint>>('GET', '/v1/webhook-endpoints?limit=100'),
  });
  const eps = (endpoints.data?.data ?? []).slice(0, 10);
  const perEndpoint = useQueries({
    queries: eps.map((e) => ({
      queryKey: ['overview-deliveries', e.id],
      queryFn: () => api<Page<Delivery>>('GET', `/v1/webhook-endpoints/${e.id}/deliveries?limit=100&since=${encodeURIComponent(since)}`),
    })),
  });
  const deliveries = perEndpoint.flatMap((q) => q.data?.data ?? []);
  const latest = [...deliveries].sort((a, b) => b.created_at.localeCompare(a.created_at)).slice(0, 8);
  const attempts = useQueries({
    queries: latest.map((d) => ({
      queryKey: ['attempts', d.id],
      queryFn: () => api<Page<Attempt>>('GET', `/v1/deliveries/${d.id}/attempts`),
    })),
  });
  const latencies = attempts
    .flatMap((q) => q.data?.data ?? [])
    .sort((a, b) => a.started_at.localeCompare(b.started_at))
    .map((a) => ({ label: hourLabel(a.started_at), value: Math.round(a.latency_ms) }));
  const incidents = useQuery({
    queryKey: ['incidents', 'open'],
    enabled: canIncidents,
    queryFn: () => api<Page<IncidentSummary>>('GET', '/v1/incidents?status=open&limit=100'),
  });
  const usage = useQuery({
    queryKey: ['usage', 'day'],
    enabled: canBilling,
    queryFn: () => api<UsageReport>('GET', '/v1/billing/usage?window=day'),
  });
  const done = deliveries.filter((d) => d.status !== 'pending');
  const ok = done.filter((d) => d.status === 'succeeded').length;
  const rate = done.length ? Math.round((100 * ok) / done.length) : null;
  const hours = lastHours(Date.now());
  const perHour = hours.map((h) => ({
    label: hourLabel(new Date(h).toISOString()),
    value: deliveries.filter((d) => {
      const t = Date.parse(d.created_at);
      return t >= h && t < h + HOUR;
    }).length,
  }));
  const meters = byMeter(usage.data);
  const sum = (m: string) => (meters.get(m) ?? []).reduce((n, b) => n + b.value, 0);
  return (
    <>
      <h1>Overview</h1>
      <p>
        Signed in as <strong>{session.user.email}</strong> ({session.user.role}).
      </p>
      <div className="tiles">
        {canWebhooks && (
          <>
            <Card title="Endpoints">
              <p className="big">{endpoints.data?.data.length ?? '…'}</p>
            </Card>
            <Card title="Deliveries, 24 h">
              <p className="big" data-testid="overview-deliveries">
                {deliveries.length}
              </p>
            </Card>
            <Card title="Success rate">
              <p className="big">{rate === null ? '—' : `${rate} %`}</p>
              {rate !== null && (
                <div className="bar" role="img" aria-label={`${rate} percent of finished deliveries succeeded`}>
                  <span style={{ width: `${rate}%` }} />
                </div>
              )}
            </Card>
          </>
        )}
        {canIncidents && (
          <Card title="Open incidents">
            <p className="big" data-testid="overview-incidents">
              {incidents.data ? `${incidents.data.data.length}${incidents.data.has_more ? '+' : ''}` : incidents.isError ? '—' : '…'}
            </p>
          </Card>
        )}
        {canBilling && (
          <>
            <Card title="Events published, this period">
              <p className="big">{usage.data ? sum('events_ingested').toLocaleString('en') : '—'}</p>
            </Card>
            <Card title="Deliveries succeeded, this period">
              <p className="big">{usage.data ? sum('webhook_deliveries_succeeded').toLocaleString('en') : '—'}</p>
            </Card>
            <Card title="API requests, this period">
              <p className="big">{usage.data ? sum('api_requests').toLocaleString('en') : '—'}</p>
            </Card>
          </>
        )}
      </div>
      {canWebhooks && (
        <div className="charts">
          <Card title="Deliveries per hour">
            <BarChart
              title="Deliveries per hour, last 24 hours"
              summary={`${deliveries.length} deliveries in the last 24 hours`}
              points={perHour}
            />
          </Card>
          <Card title="Latency">
            <LineChart
              title="Latency of the latest attempts"
              unit="ms"
              summary={`Latency of the ${latencies.length} latest attempts`}
              points={latencies}
            />
          </Card>
        </div>
      )}
      {!canWebhooks && !canBilling && <p>Your role does not include webhooks or billing.</p>}
    </>
  );
}
