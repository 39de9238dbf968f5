import type { DeadLetter, OpsStatus, ProjectionStatus } from '@pep/contracts';
import { useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { OPS_SERVICES } from '../../../../contracts/ops/services.ts';
import { api, errorText } from '../api.ts';
import { Card, ErrorNote, Select, when } from '../ui.tsx';
import { ReplayCard } from './operations-replay.tsx';

const base = (service: string) => `/v1/admin/services/${service}`;

/** Admin console: consumer lag per service, projections with rebuilds and their progress, dead letters, replays. */
export function OperationsPage() {
  return (
    <>
      <h1>Operations</h1>
      <ConsumerLagCard />
      <ProjectionsCard />
      <DeadLettersCard />
      <ReplayCard />
    </>
  );
}

/** Every service's durable consumers (work queues) and their pending counts; a service that does not answer says so. */
function ConsumerLagCard() {
  const statuses = useQueries({
    queries: OPS_SERVICES.map((service) => ({
      queryKey: ['ops-status', service],
      queryFn: () => api<OpsStatus>('GET', `${base(service)}/projections`),
      retry: false,
      refetchInterval: 5000,
    })),
  });
  return (
    <Card title="Consumer lag per service">
      <table className="fit" data-testid="consumer-lag">
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col">Consumer</th>
            <th scope="col">Pending</th>
            <th scope="col">Unacked</th>
          </tr>
        </thead>
        <tbody>
          {OPS_SERVICES.map((service, i) => {
            const q = statuses[i];
            if (!q?.data)
              return (
                <tr key={service}>
                  <th scope="row">{service}</th>
                  <td colSpan={3}>{q?.error ? `not answering: ${errorText(q.error)}` : 'Loading…'}</td>
                </tr>
              );
            const behind = q.data.data.reduce((n, p) => n + Math.max(0, p.behind), 0);
            const consumers = q.data.consumers.length ? q.data.consumers : [undefined];
            return consumers.map((c, j) => (
              <tr key={`${service}-${c?.durable ?? 'none'}`}>
                {j === 0 && (
                  <th scope="row" rowSpan={consumers.length}>
                    {service}
                    <span className="hint">
                      <br />
                      projections {behind} behind
                    </span>
                  </th>
                )}
                <td>{c ? <code>{c.durable}</code> : <span className="hint">no durable consumer</span>}</td>
                <td data-testid={c ? `lag-${c.durable}` : undefined}>{c?.pending ?? '—'}</td>
                <td>{c?.ackPending ?? '—'}</td>
              </tr>
            ));
          })}
        </tbody>
      </table>
    </Card>
  );
}

function RebuildProgressNote({ p }: { p: ProjectionStatus }) {
  const r = p.rebuild;
  if (!r) return p.behind > 0 ? <span>{p.behind} events to apply</span> : <span className="hint">caught up</span>;
  const max = Math.max(r.target, r.applied, 1);
  return (
    <span>
      <progress value={r.applied} max={max} aria-label={`Rebuild of ${p.name}`} /> {r.state}: {r.applied} / {max}
      {r.error && <span className="error"> {r.error}</span>}
    </span>
  );
}

/** One service's projections: checkpoint, lag, state; rebuild in place or beside the live one, with progress. */
function ProjectionsCard() {
  const qc = useQueryClient();
  const [service, setService] = useState<string>('partner-registry');
  const status = useQuery({
    queryKey: ['ops-status', service],
    queryFn: () => api<OpsStatus>('GET', `${base(service)}/projections`),
    retry: false,
    refetchInterval: 2000,
  });
  const rebuild = useMutation({
    mutationFn: (v: { projection: string; beside: boolean }) => api('POST', `${base(service)}/projections/rebuild`, v),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['ops-status', service] }),
  });
  return (
    <Card title="Projections and rebuilds">
      <Select label="Service" value={service} onChange={setService} options={OPS_SERVICES} />
      <ErrorNote error={status.error ?? rebuild.error} />
      {rebuild.isSuccess && <p role="status">Rebuild of {rebuild.variables.projection} started.</p>}
      <table>
        <thead>
          <tr>
            <th scope="col">Projection</th>
            <th scope="col">Checkpoint / stream</th>
            <th scope="col">State</th>
            <th scope="col">Progress</th>
            <th scope="col">Rebuild</th>
          </tr>
        </thead>
        <tbody>
          {status.data?.data.map((p) => (
            <tr key={p.name}>
              <td>
                <code>{p.name}</code>
              </td>
              <td>
                {p.checkpoint} / {p.lag < 0 ? 'unknown' : p.lag}
              </td>
              <td>
                {p.state}
                {p.open_dead_letters > 0 && <span className="hint"> ({p.open_dead_letters} dead letters)</span>}
              </td>
              <td>
                <RebuildProgressNote p={p} />
              </td>
              <td className="actions">
                <button type="button" onClick={() => rebuild.mutate({ projection: p.name, beside: false })}>
                  In place<span className="sr-only"> rebuild of {p.name}</span>
                </button>
                <button type="button" onClick={() => rebuild.mutate({ projection: p.name, beside: true })}>
                  Beside<span className="sr-only"> rebuild of {p.name}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

const letterState = (d: DeadLetter) => (d.retried_at ? `retried ${when(d.retried_at)}` : d.discarded_at ? 'discarded' : 'open');

/** One service's dead letters: the failed event, its error; retry (process it again) or discard (settle it). */
function DeadLettersCard() {
  const qc = useQueryClient();
  const [service, setService] = useState<string>('partner-registry');
  const letters = useQuery({
    queryKey: ['dead-letters', service],
    queryFn: () => api<{ data: DeadLetter[] }>('GET', `${base(service)}/dead-letters?limit=100`),
    retry: false,
  });
  const act = useMutation({
    mutationFn: (v: { id: number; action: 'retry' | 'discard' }) => api('POST', `${base(service)}/dead-letters/${v.action}`, { id: v.id }),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: ['dead-letters', service] });
      void qc.invalidateQueries({ queryKey: ['ops-status'] });
    },
  });
  return (
    <Card title="Dead letters">
      <Select label="Service of the dead letters" value={service} onChange={setService} options={OPS_SERVICES} />
      <ErrorNote error={letters.error ?? act.error} />
      {act.isSuccess && (
        <p role="status">
          Dead letter {act.variables.id} {act.variables.action === 'retry' ? 'retried' : 'discarded'}.
        </p>
      )}
      <table data-testid="dead-letters">
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Consumer and event</th>
            <th scope="col">Error</th>
            <th scope="col">State</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {letters.data?.data.map((d) => (
            <tr key={d.id}>
              <td>{d.id}</td>
              <td>
                <code>{d.consumer}</code>
                <br />
                <span className="hint">
                  {d.event_type ?? 'unknown type'} · seq {d.stream_seq} · {when(d.created_at)}
                </span>
              </td>
              <td>
                {d.error.slice(0, 200)} <span className="hint">({d.attempts} attempts)</span>
              </td>
              <td data-testid={`dead-letter-state-${d.id}`}>{letterState(d)}</td>
              <td className="actions">
                {!d.retried_at && !d.discarded_at && (
                  <>
                    <button type="button" className="primary" onClick={() => act.mutate({ id: d.id, action: 'retry' })}>
                      Retry<span className="sr-only"> dead letter {d.id}</span>
                    </button>
                    <button type="button" className="danger" onClick={() => act.mutate({ id: d.id, action: 'discard' })}>
                      Discard<span className="sr-only"> dead letter {d.id}</span>
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {letters.data?.data.length === 0 && <p>No dead letters in {service}.</p>}
    </Card>
  );
}
