import type { WebhookJob } from '@pep/contracts';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../api.ts';
import { Card, ErrorNote, Field, when } from '../ui.tsx';

const isFinished = (j: WebhookJob | undefined) => j?.status === 'completed' || j?.status === 'failed';

/** A replay of an endpoint's events since a time, as a tracked job, or any webhook job followed by its id. */
export function ReplayCard() {
  const [endpoint, setEndpoint] = useState('');
  const [since, setSince] = useState('');
  const [jobId, setJobId] = useState('');
  const start = useMutation({
    mutationFn: () =>
      api<WebhookJob>('POST', `/v1/webhook-endpoints/${encodeURIComponent(endpoint.trim())}/replay`, {
        since: since ? new Date(since).toISOString() : '',
      }),
    onSuccess: (job) => setJobId(job.id),
  });
  const job = useQuery({
    queryKey: ['webhook-job', jobId],
    enabled: /^whjob_/.test(jobId.trim()),
    queryFn: () => api<WebhookJob>('GET', `/v1/webhook-jobs/${encodeURIComponent(jobId.trim())}`),
    refetchInterval: (q) => (isFinished(q.state.data) ? false : 1000),
  });
  const j = job.data;
  return (
    <Card title="Replay jobs">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          start.mutate();
        }}
      >
        <div className="row">
          <Field label="Endpoint id" value={endpoint} onChange={setEndpoint} hint="wep_…: its events are delivered again" />
          <Field label="Replay events since" type="datetime-local" value={since} onChange={setSince} />
        </div>
        <button type="submit" className="primary">
          Start replay
        </button>
      </form>
      <Field label="Follow a job" value={jobId} onChange={setJobId} required={false} hint="whjob_… (replay, recover or resend)" />
      <ErrorNote error={start.error ?? job.error} />
      {j && (
        <div role="status" data-testid="job-progress">
          <p>
            Job <code>{j.id}</code> ({j.kind} of <code>{j.endpoint_id}</code>): <strong>{j.status}</strong>, {j.processed} of{' '}
            {j.total ?? '?'} events, {j.deliveries_created} new deliveries
            {j.finished_at && <>, finished {when(j.finished_at)}</>}
          </p>
          <progress value={j.processed} max={Math.max(j.total ?? j.processed, j.processed, 1)} aria-label={`Progress of job ${j.id}`} />
          {j.error && <p className="error">{j.error}</p>}
        </div>
      )}
    </Card>
  );
}
