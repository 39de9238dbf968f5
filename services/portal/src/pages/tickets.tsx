import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type Page, type Ticket } from '../api.ts';
import { Card, ErrorNote, Field, Select, when } from '../ui.tsx';
import { Scroll, TextArea } from './form-parts.tsx';

const PRIORITIES: readonly Ticket['priority'][] = ['low', 'normal', 'high', 'urgent'];
const STATUSES = ['any', 'open', 'in_progress', 'waiting_on_partner', 'resolved', 'closed'] as const;
const label = (s: string) => s.replaceAll('_', ' ');

/** Support tickets: open one, follow its SLA and status, talk with support in comments, close or reopen it. */
export function TicketsPage({ canWrite }: { canWrite: boolean }) {
  const qc = useQueryClient();
  const [status, setStatus] = useState('any');
  const tickets = useQuery({
    queryKey: ['tickets', status],
    queryFn: () => api<Page<Ticket>>('GET', `/v1/support/tickets?limit=100${status === 'any' ? '' : `&status=${status}`}`),
  });
  const [subject, setSubject] = useState('');
  const [description, setDescription] = useState('');
  const [priority, setPriority] = useState<string>('normal');
  const [open, setOpen] = useState('');
  const create = useMutation({
    mutationFn: () => api<Ticket>('POST', '/v1/support/tickets', { subject, description, priority }),
    onSuccess: (t) => {
      setSubject('');
      setDescription('');
      setOpen(t.id);
      void qc.invalidateQueries({ queryKey: ['tickets'] });
    },
  });
  return (
    <>
      <h1>Support tickets</h1>
      {canWrite && (
        <Card title="Open a ticket">
          <form
            onSubmit={(e) => {
              e.preventDefault();
              create.mutate();
            }}
          >
            <Field label="Subject" value={subject} onChange={setSubject} />
            <TextArea label="What happened" value={description} onChange={setDescription} />
            <Select label="Priority" value={priority} onChange={setPriority} options={PRIORITIES} />
            <ErrorNote error={create.error} />
            <button type="submit" className="primary" disabled={create.isPending}>
              Open ticket
            </button>
          </form>
        </Card>
      )}
      <Card title="Tickets">
        <Select
          label="Status"
          value={status}
          onChange={setStatus}
          options={STATUSES}
          labels={Object.fromEntries(STATUSES.map((s) => [s, label(s)]))}
        />
        <ErrorNote error={tickets.error} />
        <Scroll label="Tickets table">
          <table>
            <thead>
              <tr>
                <th scope="col">Subject</th>
                <th scope="col">Priority</th>
                <th scope="col">Status</th>
                <th scope="col">SLA due</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {tickets.data?.data.map((t) => (
                <tr key={t.id}>
                  <td>{t.subject}</td>
                  <td>{t.priority}</td>
                  <td>{label(t.status)}</td>
                  <td>
                    {when(t.sla_due_at)}
                    {t.sla_breached ? <strong className="warn"> (breached)</strong> : ''}
                  </td>
                  <td className="actions">
                    <button type="button" onClick={() => setOpen(t.id)}>
                      Open<span className="sr-only"> {t.subject}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
        {tickets.data?.data.length === 0 && <p>No tickets.</p>}
      </Card>
      {open && <TicketDetail id={open} canWrite={canWrite} />}
    </>
  );
}

function TicketDetail({ id, canWrite }: { id: string; canWrite: boolean }) {
  const qc = useQueryClient();
  const ticket = useQuery({ queryKey: ['ticket', id], queryFn: () => api<Ticket>('GET', `/v1/support/tickets/${id}`) });
  const [comment, setComment] = useState('');
  const done = (t: Ticket) => {
    qc.setQueryData(['ticket', id], t);
    void qc.invalidateQueries({ queryKey: ['tickets'] });
  };
  const add = useMutation({
    mutationFn: () => api<Ticket>('POST', `/v1/support/tickets/${id}/comments`, { body: comment }),
    onSuccess: (t) => {
      setComment('');
      done(t);
    },
  });
  const move = useMutation({
    mutationFn: (status: 'closed' | 'open') => api<Ticket>('POST', `/v1/support/tickets/${id}/status`, { status }),
    onSuccess: done,
  });
  const t = ticket.data;
  if (!t) return <ErrorNote error={ticket.error} />;
  const closed = t.status === 'closed' || t.status === 'resolved';
  return (
    <Card title={`Ticket: ${t.subject}`}>
      <p>
        {label(t.status)} · {t.priority} priority · opened {when(t.created_at)} by {t.opened_by}
        {t.assignee ? ` · assigned to ${t.assignee}` : ''}
      </p>
      <p className="prewrap">{t.description}</p>
      <h3>Conversation</h3>
      {t.comments.length === 0 ? (
        <p>No comments yet.</p>
      ) : (
        <ol className="comments">
          {t.comments.map((c) => (
            <li key={c.id} className={c.author_kind}>
              <strong>{c.author_kind === 'platform' ? `Support (${c.author})` : c.author}</strong> at {when(c.created_at)}
              <p className="prewrap">{c.body}</p>
            </li>
          ))}
        </ol>
      )}
      {canWrite && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            add.mutate();
          }}
        >
          <TextArea label="Add a comment" value={comment} onChange={setComment} rows={3} />
          <ErrorNote error={add.error ?? move.error} />
          <p className="actions-row">
            <button type="submit" className="primary" disabled={add.isPending}>
              Send comment
            </button>
            <button type="button" onClick={() => move.mutate(closed ? 'open' : 'closed')}>
              {closed ? 'Reopen ticket' : 'Close ticket'}
            </button>
          </p>
        </form>
      )}
    </Card>
  );
}
