import type { Partner } from '@pep/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type Page } from '../api.ts';
import { Card, ErrorNote, Field, Select, when } from '../ui.tsx';

const STATUSES = ['pending', 'active', 'suspended', 'terminated'] as const;
type Action = 'activate' | 'request-changes' | 'terminate' | 'suspend';
/** What each decision is called on this page, and whether the API needs the note (a `reason`). */
const ACTIONS: Record<Action, { label: string; needsNote: boolean; past: string }> = {
  activate: { label: 'Approve', needsNote: false, past: 'approved' },
  'request-changes': { label: 'Request changes', needsNote: true, past: 'asked for changes' },
  terminate: { label: 'Reject', needsNote: true, past: 'rejected' },
  suspend: { label: 'Suspend', needsNote: true, past: 'suspended' },
};

/**
 * Admin console: the partner review queue. Pending partners are approved (activate), asked for changes or
 * rejected (terminate), each with a note; active partners can be suspended and suspended ones reinstated.
 */
export function PartnerReviewPage() {
  const qc = useQueryClient();
  const [status, setStatus] = useState<string>('pending');
  const [note, setNote] = useState('');
  const [done, setDone] = useState('');
  const partners = useQuery({
    queryKey: ['admin-partners', status],
    queryFn: () => api<Page<Partner>>('GET', `/v1/partners?status=${status}&limit=100`),
  });
  const act = useMutation({
    mutationFn: async (v: { partner: Partner; action: Action; reinstate?: boolean }) => {
      if (ACTIONS[v.action].needsNote && !note.trim()) throw new Error(`${ACTIONS[v.action].label} needs a note to the partner`);
      await api('POST', `/v1/partners/${v.partner.id}/${v.action}`, note.trim() ? { reason: note.trim() } : {});
      return `${v.partner.name} ${v.reinstate ? 'reinstated' : ACTIONS[v.action].past}.`;
    },
    onSuccess: (message) => {
      setNote('');
      setDone(message);
      void qc.invalidateQueries({ queryKey: ['admin-partners'] });
    },
  });
  const button = (p: Partner, action: Action, extra?: { label?: string; reinstate?: boolean; cls?: string }) => (
    <button type="button" className={extra?.cls} onClick={() => act.mutate({ partner: p, action, reinstate: extra?.reinstate })}>
      {extra?.label ?? ACTIONS[action].label}
      <span className="sr-only"> {p.name}</span>
    </button>
  );
  return (
    <>
      <h1>Partner review</h1>
      <Card title="Partners">
        <div className="row">
          <Select label="Status" value={status} onChange={setStatus} options={STATUSES} />
          <Field
            label="Note to the partner"
            value={note}
            onChange={setNote}
            required={false}
            hint="Required to request changes, reject or suspend; kept as the partner's status reason."
          />
        </div>
        <ErrorNote error={partners.error ?? act.error} />
        {done && <p role="status">{done}</p>}
        <table>
          <thead>
            <tr>
              <th scope="col">Partner</th>
              <th scope="col">Type and tier</th>
              <th scope="col">Status</th>
              <th scope="col">Registered</th>
              <th scope="col">Decision</th>
            </tr>
          </thead>
          <tbody>
            {partners.data?.data.map((p) => (
              <tr key={p.id}>
                <td>
                  <strong>{p.name}</strong>
                  <br />
                  <span className="hint">
                    {p.contact_email} · <code>{p.id}</code>
                  </span>
                </td>
                <td>
                  {p.type}, {p.tier}
                </td>
                <td>
                  {p.status}
                  {p.status_reason && <span className="hint"> — {p.status_reason}</span>}
                </td>
                <td>{when(p.created_at)}</td>
                <td className="actions">
                  {p.status === 'pending' && (
                    <>
                      {button(p, 'activate', { cls: 'primary' })}
                      {button(p, 'request-changes')}
                      {button(p, 'terminate', { cls: 'danger' })}
                    </>
                  )}
                  {p.status === 'active' && button(p, 'suspend', { cls: 'danger' })}
                  {p.status === 'suspended' && button(p, 'activate', { label: 'Reinstate', reinstate: true, cls: 'primary' })}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {partners.data?.data.length === 0 && <p>Nothing in this queue.</p>}
      </Card>
    </>
  );
}
