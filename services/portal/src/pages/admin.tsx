import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { type Application, api, type Page } from '../api.ts';
import { Card, ErrorNote, Field, Select, when } from '../ui.tsx';

const QUEUES = ['submitted', 'in_review', 'changes_requested', 'approved', 'rejected'] as const;

/** Admin console: the application review queue (start review, approve, request changes, reject with a note). */
export function ReviewQueuePage() {
  const qc = useQueryClient();
  const [status, setStatus] = useState<string>('submitted');
  const [note, setNote] = useState('');
  const apps = useQuery({
    queryKey: ['review', status],
    queryFn: () => api<Page<Application>>('GET', `/v1/applications?status=${status}&limit=100`),
  });
  const act = useMutation({
    mutationFn: async (v: { app: Application; action: 'approve' | 'request-changes' | 'reject' }) => {
      if (v.app.status === 'submitted') await api('POST', `/v1/applications/${v.app.id}/start-review`, {});
      return api('POST', `/v1/applications/${v.app.id}/${v.action}`, note ? { note } : {});
    },
    onSuccess: () => {
      setNote('');
      void qc.invalidateQueries({ queryKey: ['review'] });
    },
  });
  return (
    <>
      <h1>Application review</h1>
      <Card title="Queue">
        <div className="row">
          <Select label="Status" value={status} onChange={setStatus} options={QUEUES} />
          <Field label="Note to the partner" value={note} onChange={setNote} required={false} />
        </div>
        <ErrorNote error={apps.error ?? act.error} />
        <table>
          <thead>
            <tr>
              <th scope="col">Application</th>
              <th scope="col">Partner</th>
              <th scope="col">Security validation</th>
              <th scope="col">Updated</th>
              <th scope="col">Decision</th>
            </tr>
          </thead>
          <tbody>
            {apps.data?.data.map((a) => (
              <tr key={a.id}>
                <td>
                  <strong>{a.name}</strong>
                  <br />
                  <span className="hint">{a.description}</span>
                </td>
                <td>
                  <code>{a.partner_id}</code>
                </td>
                <td>{a.validation ? JSON.stringify(a.validation).slice(0, 80) : '—'}</td>
                <td>{when(a.updated_at)}</td>
                <td className="actions">
                  {(a.status === 'submitted' || a.status === 'in_review') && (
                    <>
                      <button type="button" className="primary" onClick={() => act.mutate({ app: a, action: 'approve' })}>
                        Approve<span className="sr-only"> {a.name}</span>
                      </button>
                      <button type="button" onClick={() => act.mutate({ app: a, action: 'request-changes' })}>
                        Request changes<span className="sr-only"> to {a.name}</span>
                      </button>
                      <button type="button" className="danger" onClick={() => act.mutate({ app: a, action: 'reject' })}>
                        Reject<span className="sr-only"> {a.name}</span>
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {apps.data?.data.length === 0 && <p>Nothing in this queue.</p>}
      </Card>
    </>
  );
}
