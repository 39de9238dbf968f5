import type { RollbackPolicy } from '@pep/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { api, type Page } from '../api.ts';
import { Card, ErrorNote, Field, Select, when } from '../ui.tsx';

const MODES = ['auto', 'approval', 'dry_run'] as const;
const EXAMPLE_JOURNEYS = '[{ "funnel": "checkout" }]';

interface Form {
  partner_id: string;
  customer_id: string;
  name: string;
  mode: string;
  cooldown_minutes: string;
  max_actions: string;
  notify_emails: string;
  journeys: string;
  providers: string;
}
const EMPTY: Form = {
  partner_id: '',
  customer_id: '',
  name: '',
  mode: 'auto',
  cooldown_minutes: '30',
  max_actions: '5',
  notify_emails: '',
  journeys: EXAMPLE_JOURNEYS,
  providers: '[]',
};

/** The API's `secret_set` / `token_set` markers are answers, not inputs: the form leaves them out. */
const withoutMarkers = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(withoutMarkers)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([k]) => k !== 'secret_set' && k !== 'token_set')
            .map(([k, x]) => [k, withoutMarkers(x)]),
        )
      : v;

/** Providers and journey webhooks come back without their secrets: the form shows them so they can be entered again. */
const formOf = (p: RollbackPolicy): Form => ({
  partner_id: p.partner_id,
  customer_id: p.customer_id,
  name: p.name ?? '',
  mode: p.mode,
  cooldown_minutes: String(p.cooldown_minutes),
  max_actions: String(p.max_actions),
  notify_emails: p.notify_emails.join(', '),
  journeys: JSON.stringify(withoutMarkers(p.journeys), null, 2),
  providers: JSON.stringify(withoutMarkers(p.providers), null, 2),
});

function parseJson(label: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${label}: not valid JSON`);
  }
}

function bodyOf(f: Form, editing: boolean, platformAdmin: boolean) {
  return {
    ...(editing || !platformAdmin ? {} : { partner_id: f.partner_id.trim() }),
    customer_id: f.customer_id.trim(),
    ...(f.name.trim() ? { name: f.name.trim() } : {}),
    mode: f.mode,
    cooldown_minutes: Number(f.cooldown_minutes),
    max_actions: Number(f.max_actions),
    notify_emails: f.notify_emails
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean),
    journeys: parseJson('Journeys', f.journeys),
    providers: parseJson('Flag providers', f.providers),
  };
}

function TextArea(props: { label: string; value: string; onChange: (v: string) => void; hint: string }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <textarea id={id} rows={5} value={props.value} aria-describedby={`${id}-hint`} onChange={(e) => props.onChange(e.target.value)} />
      <p id={`${id}-hint`} className="hint">
        {props.hint}
      </p>
    </div>
  );
}

/** Rollback policies: which journeys of which customer roll back what, in which mode; list, create and edit. */
export function RollbackPoliciesPage({ canWrite, platformAdmin }: { canWrite: boolean; platformAdmin: boolean }) {
  const qc = useQueryClient();
  const [form, setForm] = useState<Form>(EMPTY);
  const [editing, setEditing] = useState<string | null>(null);
  const set = (k: keyof Form) => (v: string) => setForm((f) => ({ ...f, [k]: v }));
  const policies = useQuery({
    queryKey: ['rollback-policies'],
    queryFn: () => api<Page<RollbackPolicy>>('GET', '/v1/rollback/policies?limit=100'),
  });
  const save = useMutation({
    mutationFn: () => {
      const body = bodyOf(form, editing !== null, platformAdmin);
      return editing
        ? api<RollbackPolicy>('PUT', `/v1/rollback/policies/${editing}`, body)
        : api<RollbackPolicy>('POST', '/v1/rollback/policies', body);
    },
    onSuccess: () => {
      setForm(EMPTY);
      setEditing(null);
      void qc.invalidateQueries({ queryKey: ['rollback-policies'] });
    },
  });
  return (
    <>
      <h1>Rollback policies</h1>
      {canWrite && (
        <Card title={editing ? `Edit policy ${editing}` : 'New policy'}>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              save.mutate();
            }}
          >
            <div className="row">
              {platformAdmin && !editing && <Field label="Partner id" value={form.partner_id} onChange={set('partner_id')} />}
              <Field label="Customer id" value={form.customer_id} onChange={set('customer_id')} required={!editing} />
              <Field label="Policy name" value={form.name} onChange={set('name')} required={false} />
              <Select label="Mode" value={form.mode} onChange={set('mode')} options={MODES} />
              <Field label="Cooldown (minutes)" type="number" value={form.cooldown_minutes} onChange={set('cooldown_minutes')} />
              <Field label="Most actions per incident" type="number" value={form.max_actions} onChange={set('max_actions')} />
            </div>
            <Field label="Notify (emails, comma-separated)" value={form.notify_emails} onChange={set('notify_emails')} required={false} />
            <TextArea
              label="Journeys"
              value={form.journeys}
              onChange={set('journeys')}
              hint='JSON: [{ "funnel", "step"?, "repositories"?, "flags"?: [{ "provider_id", "flag_key" }], "webhooks"?: [{ "url", "secret"? }] }]. A webhook without a secret gets a new one.'
            />
            <TextArea
              label="Flag providers"
              value={form.providers}
              onChange={set('providers')}
              hint='JSON: [{ "id", "kind": "partner_webhook" | "launchdarkly" | …, "token", … }]. Tokens are write-only: enter them again when editing.'
            />
            <ErrorNote error={save.error} />
            <div className="actions row">
              <button type="submit" className="primary">
                {editing ? 'Save policy' : 'Create policy'}
              </button>
              {editing && (
                <button
                  type="button"
                  onClick={() => {
                    setEditing(null);
                    setForm(EMPTY);
                  }}
                >
                  Cancel editing
                </button>
              )}
            </div>
          </form>
          {save.isSuccess && (
            <p role="status">
              Policy {save.data.name ?? save.data.id} saved (version {save.data.version}).
            </p>
          )}
        </Card>
      )}
      <Card title="Policies">
        <ErrorNote error={policies.error} />
        <table>
          <thead>
            <tr>
              <th scope="col">Policy</th>
              <th scope="col">Customer</th>
              <th scope="col">Mode and limits</th>
              <th scope="col">Journeys</th>
              <th scope="col">Updated</th>
              {canWrite && <th scope="col">Edit</th>}
            </tr>
          </thead>
          <tbody>
            {policies.data?.data.map((p) => (
              <tr key={p.id}>
                <td>
                  <strong>{p.name ?? p.id}</strong>
                  <br />
                  <span className="hint">
                    <code>{p.id}</code> · v{p.version}
                  </span>
                </td>
                <td>{p.customer_id}</td>
                <td>
                  {p.mode}, at most {p.max_actions} actions, cooldown {p.cooldown_minutes} min
                </td>
                <td>{p.journeys.map((j) => String(j.funnel ?? '')).join(', ')}</td>
                <td>{when(p.updated_at)}</td>
                {canWrite && (
                  <td>
                    <button
                      type="button"
                      onClick={() => {
                        setEditing(p.id);
                        setForm(formOf(p));
                      }}
                    >
                      Edit<span className="sr-only"> {p.name ?? p.id}</span>
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
        {policies.data?.data.length === 0 && <p>No policies yet.</p>}
      </Card>
    </>
  );
}
