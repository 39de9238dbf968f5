import type { Incident } from '@pep/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type Page } from '../api.ts';
import { Card, ErrorNote, Select, when } from '../ui.tsx';

const STATUSES = ['open', 'resolved', 'all'] as const;
type Action = NonNullable<Incident['rollback']>['actions'][number];

const actionTarget = (a: Action) =>
  a.flag_key
    ? `flag ${a.flag_key}${a.provider_id ? ` (${a.provider_id})` : ''}`
    : a.pull_number
      ? `${a.repository ?? ''} #${a.pull_number}`
      : (a.url ?? a.repository ?? '');

/** Incidents reported by the monitor: each one's rollback run, the actions taken and its timeline. */
export function IncidentsPage({ canWrite }: { canWrite: boolean }) {
  const [status, setStatus] = useState<string>('open');
  const [selected, setSelected] = useState('');
  const list = useQuery({
    queryKey: ['incidents', status],
    queryFn: () => api<Page<Incident>>('GET', `/v1/incidents?limit=50${status === 'all' ? '' : `&status=${status}`}`),
  });
  return (
    <>
      <h1>Incidents</h1>
      <Card title="Incidents">
        <Select label="Status" value={status} onChange={setStatus} options={STATUSES} />
        <ErrorNote error={list.error} />
        <table>
          <thead>
            <tr>
              <th scope="col">Incident</th>
              <th scope="col">Journey</th>
              <th scope="col">Severity</th>
              <th scope="col">Rollback</th>
              <th scope="col">Detected</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.data.map((i) => (
              <tr key={i.id}>
                <td>
                  <button type="button" className="link" aria-pressed={selected === i.id} onClick={() => setSelected(i.id)}>
                    {i.id}
                  </button>
                  <br />
                  <span className="hint">
                    {i.customer_id} · {i.status}
                  </span>
                </td>
                <td>
                  {i.journey.funnel} → {i.journey.step}
                </td>
                <td>{i.severity}</td>
                <td>{i.rollback ? `${i.rollback.status} (${i.rollback.mode})` : '—'}</td>
                <td>{when(i.detected_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {list.data?.data.length === 0 && <p>No incidents.</p>}
      </Card>
      {selected && <IncidentDetail id={selected} canWrite={canWrite} />}
    </>
  );
}

function IncidentDetail({ id, canWrite }: { id: string; canWrite: boolean }) {
  const qc = useQueryClient();
  const incident = useQuery({
    queryKey: ['incident', id],
    queryFn: () => api<Incident>('GET', `/v1/incidents/${encodeURIComponent(id)}`),
    refetchInterval: 3000,
  });
  const act = useMutation({
    mutationFn: (action: 'approve' | 'resolve') => api('POST', `/v1/incidents/${encodeURIComponent(id)}/${action}`, {}),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['incident', id] }),
  });
  const i = incident.data;
  return (
    <Card title={`Incident ${id}`}>
      <ErrorNote error={incident.error ?? act.error} />
      {i && (
        <>
          <p>
            {i.journey.funnel} → {i.journey.step} at <code>{i.journey.url}</code>, {i.severity}, {i.status}
            {i.resolved_at && <> (resolved {when(i.resolved_at)})</>}
          </p>
          {canWrite && (
            <div className="actions row">
              {i.rollback?.status === 'awaiting_approval' && (
                <button type="button" className="primary" onClick={() => act.mutate('approve')}>
                  Approve the rollback
                </button>
              )}
              {i.status === 'open' && (
                <button type="button" onClick={() => act.mutate('resolve')}>
                  Resolve the incident
                </button>
              )}
            </div>
          )}
          <h3>Actions taken</h3>
          {i.rollback ? (
            <>
              <p>
                Rollback <strong>{i.rollback.status}</strong> ({i.rollback.mode})
                {i.rollback.skipped_reason && <>: {i.rollback.skipped_reason}</>}
              </p>
              {i.rollback.actions.length === 0 ? (
                <p>No actions.</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Action</th>
                      <th scope="col">Target</th>
                      <th scope="col">Status</th>
                      <th scope="col">Detail</th>
                    </tr>
                  </thead>
                  <tbody>
                    {i.rollback.actions.map((a) => (
                      <tr key={`${a.action_id}-${a.phase}`}>
                        <td>
                          {a.kind} ({a.phase})
                        </td>
                        <td>{actionTarget(a)}</td>
                        <td>
                          {a.status}, {a.attempts} attempts
                        </td>
                        <td>{a.detail ?? '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </>
          ) : (
            <p>No rollback run.</p>
          )}
          <h3>Timeline</h3>
          <ol className="timeline" data-testid="timeline">
            {i.timeline.map((t) => (
              <li key={`${t.at}-${t.type}-${t.summary}`}>
                <time dateTime={t.at}>{when(t.at)}</time> <strong>{t.summary}</strong>{' '}
                <span className="hint">
                  {t.type} · {t.actor}
                </span>
                {Object.keys(t.details).length > 0 && (
                  <details>
                    <summary>Details</summary>
                    <pre>{JSON.stringify(t.details, null, 2)}</pre>
                  </details>
                )}
              </li>
            ))}
          </ol>
        </>
      )}
    </Card>
  );
}
