import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { type Attempt, api, type Delivery, type Page, type WebhookEndpoint, type WebhookJob } from '../api.ts';
import { Card, ErrorNote, Field, Select, when } from '../ui.tsx';
import { hoursAgo, localToIso, Scroll } from './form-parts.tsx';

function deliveriesQuery(f: { status: string; eventType: string; since: string; until: string }): string {
  const q = new URLSearchParams({ limit: '50' });
  if (f.status !== 'any') q.set('status', f.status);
  if (f.eventType.trim()) q.set('event_type', f.eventType.trim());
  if (f.since) q.set('since', localToIso(f.since));
  if (f.until) q.set('until', localToIso(f.until));
  return q.toString();
}

/** The attempt log of an endpoint (filters: status, event type, time), attempts with their response, resend, recover, replay. */
export function DeliveriesPage({ canWrite }: { canWrite: boolean }) {
  const qc = useQueryClient();
  const endpoints = useQuery({
    queryKey: ['endpoints'],
    queryFn: () => api<Page<WebhookEndpoint>>('GET', '/v1/webhook-endpoints?limit=100'),
  });
  const [chosen, setChosen] = useState('');
  const [status, setStatus] = useState('any');
  const [eventType, setEventType] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const endpointId = chosen || endpoints.data?.data[0]?.id || '';
  const query = deliveriesQuery({ status, eventType, since, until });
  const deliveries = useQuery({
    queryKey: ['deliveries', endpointId, query],
    enabled: endpointId !== '',
    queryFn: () => api<Page<Delivery>>('GET', `/v1/webhook-endpoints/${endpointId}/deliveries?${query}`),
  });
  const [open, setOpen] = useState('');
  const [job, setJob] = useState<WebhookJob | null>(null);
  const resend = useMutation({
    mutationFn: (id: string) => api<WebhookJob>('POST', `/v1/deliveries/${id}/resend`, {}),
    onSuccess: (j) => {
      setJob(j);
      void qc.invalidateQueries({ queryKey: ['deliveries'] });
      void qc.invalidateQueries({ queryKey: ['attempts'] });
    },
  });
  const labels = Object.fromEntries((endpoints.data?.data ?? []).map((e) => [e.id, e.url]));
  return (
    <>
      <h1>Deliveries</h1>
      <Card title="Filter">
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            void deliveries.refetch();
          }}
        >
          <Select
            label="Endpoint"
            value={endpointId}
            onChange={setChosen}
            options={endpoints.data?.data.map((e) => e.id) ?? []}
            labels={labels}
          />
          <Select label="Status" value={status} onChange={setStatus} options={['any', 'pending', 'succeeded', 'failed']} />
          <Field label="Event type" value={eventType} onChange={setEventType} required={false} hint="e.g. lead.created" />
          <Field label="Since" type="datetime-local" value={since} onChange={setSince} required={false} />
          <Field label="Until" type="datetime-local" value={until} onChange={setUntil} required={false} />
        </form>
      </Card>
      <Card title="Attempt log">
        <ErrorNote error={deliveries.error ?? resend.error} />
        <Scroll label="Deliveries table">
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
                  <td>
                    {d.event_type}
                    <br />
                    <code className="small">{d.event_id}</code>
                  </td>
                  <td data-testid="delivery-status">{d.status}</td>
                  <td>{d.attempts}</td>
                  <td>{d.last_status_code ?? '—'}</td>
                  <td>{when(d.created_at)}</td>
                  <td className="actions">
                    <button type="button" aria-expanded={open === d.id} onClick={() => setOpen(open === d.id ? '' : d.id)}>
                      Attempts<span className="sr-only"> of {d.event_type}</span>
                    </button>
                    {canWrite && (
                      <button type="button" onClick={() => resend.mutate(d.id)}>
                        Resend<span className="sr-only"> {d.event_type}</span>
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
        {deliveries.data?.data.length === 0 && <p>No deliveries match these filters.</p>}
        {open && <Attempts delivery={deliveries.data?.data.find((d) => d.id === open)} id={open} />}
      </Card>
      {canWrite && endpointId && <RedeliverCard endpointId={endpointId} onJob={setJob} />}
      {job && <JobProgress job={job} />}
    </>
  );
}

/** Every attempt of a delivery: what was sent (the event, its type and id) and what came back (code, excerpt, error). */
function Attempts({ id, delivery }: { id: string; delivery: Delivery | undefined }) {
  const attempts = useQuery({ queryKey: ['attempts', id], queryFn: () => api<Page<Attempt>>('GET', `/v1/deliveries/${id}/attempts`) });
  return (
    <section aria-label="Attempts of the delivery" className="attempts">
      <h3>Attempts of {delivery?.event_type ?? id}</h3>
      {delivery && (
        <p>
          Request: <code>POST</code> of event <code>{delivery.event_id}</code> ({delivery.event_type}), webhook-id{' '}
          <code>{delivery.id}</code>
          {delivery.last_error ? ` — last error: ${delivery.last_error}` : ''}
        </p>
      )}
      <ErrorNote error={attempts.error} />
      <ol data-testid="attempts">
        {attempts.data?.data.map((a) => (
          <li key={a.id}>
            <p>
              #{a.attempt} <strong>{a.outcome}</strong> {a.status_code ?? ''} {a.error_class ? `(${a.error_class})` : ''} in{' '}
              {Math.round(a.latency_ms)} ms at {when(a.started_at)}
              {a.mapping_version !== null ? `, mapping v${a.mapping_version}` : ''}
            </p>
            {a.response_excerpt && (
              <details>
                <summary>Response excerpt</summary>
                <pre className="code">{a.response_excerpt}</pre>
              </details>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}

/** Recover failed deliveries since a time, or replay every matching event of a range (both tracked jobs). */
function RedeliverCard({ endpointId, onJob }: { endpointId: string; onJob: (j: WebhookJob) => void }) {
  const [since, setSince] = useState(hoursAgo(24));
  const [until, setUntil] = useState('');
  const body = () => ({ since: localToIso(since), ...(until ? { until: localToIso(until) } : {}) });
  const recover = useMutation({
    mutationFn: () => api<WebhookJob>('POST', `/v1/webhook-endpoints/${endpointId}/recover`, body()),
    onSuccess: onJob,
  });
  const replay = useMutation({
    mutationFn: () => api<WebhookJob>('POST', `/v1/webhook-endpoints/${endpointId}/replay`, body()),
    onSuccess: onJob,
  });
  return (
    <Card title="Recover and replay">
      <p>
        Recover resends every failed delivery of this endpoint in the range; replay delivers every matching event of the range again, as new
        deliveries.
      </p>
      <div className="row">
        <Field label="From" type="datetime-local" value={since} onChange={setSince} />
        <Field label="To (optional)" type="datetime-local" value={until} onChange={setUntil} required={false} />
      </div>
      <ErrorNote error={recover.error ?? replay.error} />
      <p className="actions-row">
        <button type="button" onClick={() => recover.mutate()} disabled={recover.isPending}>
          Recover failed deliveries
        </button>
        <button type="button" onClick={() => replay.mutate()} disabled={replay.isPending}>
          Replay events
        </button>
      </p>
    </Card>
  );
}

/** A job's progress, polled until it finishes. */
function JobProgress({ job }: { job: WebhookJob }) {
  const live = useQuery({
    queryKey: ['webhook-job', job.id],
    initialData: job,
    queryFn: () => api<WebhookJob>('GET', `/v1/webhook-jobs/${job.id}`),
    refetchInterval: (q) => (q.state.data && (q.state.data.status === 'completed' || q.state.data.status === 'failed') ? false : 1000),
  });
  const j = live.data;
  const pct = j.total ? Math.round((100 * j.processed) / j.total) : j.status === 'completed' ? 100 : 0;
  return (
    <Card title="Job progress">
      <p role="status" data-testid="job-status">
        {j.kind} job {j.status}: {j.processed}
        {j.total !== null ? ` of ${j.total}` : ''} processed, {j.deliveries_created} new and {j.deliveries_reused} resent deliveries
        {j.error ? ` — ${j.error}` : ''}
      </p>
      <progress max={100} value={pct} aria-label={`${j.kind} job progress`}>
        {pct} %
      </progress>
    </Card>
  );
}
