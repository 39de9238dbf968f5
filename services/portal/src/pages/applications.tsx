import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { type Application, api, type Page } from '../api.ts';
import { Card, ErrorNote, Field, when } from '../ui.tsx';
import { Scroll, TextArea } from './form-parts.tsx';

interface Draft {
  name: string;
  description: string;
  redirect_uris: string;
  scopes: string;
  webhook_url: string;
  health_url: string;
  privacy_url: string;
  terms_url: string;
}
const EMPTY: Draft = {
  name: '',
  description: '',
  redirect_uris: '',
  scopes: 'read:partners',
  webhook_url: '',
  health_url: '',
  privacy_url: '',
  terms_url: '',
};
const words = (s: string) => s.split(/[\s,]+/).filter(Boolean);
const fromApp = (a: Application): Draft => ({
  name: a.name,
  description: a.description,
  redirect_uris: a.redirect_uris.join(' '),
  scopes: a.scopes.join(' '),
  webhook_url: a.webhook_url ?? '',
  health_url: a.health_url ?? '',
  privacy_url: a.privacy_url ?? '',
  terms_url: a.terms_url ?? '',
});
/** The body of a create (absent optional URLs left out) or an edit (cleared URLs sent as null). */
function bodyOf(d: Draft, edit: boolean) {
  const url = (v: string) => (v.trim() ? v.trim() : edit ? null : undefined);
  const body: Record<string, unknown> = {
    name: d.name,
    description: d.description,
    redirect_uris: words(d.redirect_uris),
    scopes: words(d.scopes),
    webhook_url: url(d.webhook_url),
    health_url: url(d.health_url),
    privacy_url: url(d.privacy_url),
    terms_url: url(d.terms_url),
  };
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}
const EDITABLE: readonly Application['status'][] = ['draft', 'changes_requested'];
const SUBMITTABLE: readonly Application['status'][] = ['draft', 'changes_requested'];

/** Applications through their review workflow: create a draft, edit, submit; status, validation and reviewer notes. */
export function ApplicationsPage({ canWrite }: { canWrite: boolean }) {
  const qc = useQueryClient();
  const apps = useQuery({ queryKey: ['applications'], queryFn: () => api<Page<Application>>('GET', '/v1/applications?limit=100') });
  const [chosen, setChosen] = useState<string>('');
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [status, setStatus] = useState('');
  const current = apps.data?.data.find((a) => a.id === chosen) ?? null;
  const refresh = () => qc.invalidateQueries({ queryKey: ['applications'] });
  const save = useMutation({
    mutationFn: () =>
      current
        ? api<Application>('PATCH', `/v1/applications/${current.id}`, bodyOf(draft, true))
        : api<Application>('POST', '/v1/applications', bodyOf(draft, false)),
    onSuccess: (a) => {
      setChosen(a.id);
      setStatus(current ? `Saved ${a.name}.` : `Created ${a.name} as a draft.`);
      void refresh();
    },
  });
  const act = useMutation({
    mutationFn: (v: { app: Application; action: 'submit' | 'publish' | 'deprecate' }) =>
      api<Application>('POST', `/v1/applications/${v.app.id}/${v.action}`, {}),
    onSuccess: (a) => {
      setStatus(`${a.name} is now ${a.status.replace('_', ' ')}.`);
      void refresh();
    },
  });
  const set = (k: keyof Draft) => (v: string) => setDraft((d) => ({ ...d, [k]: v }));
  const edit = (a: Application | null) => {
    setChosen(a?.id ?? '');
    setDraft(a ? fromApp(a) : EMPTY);
    setStatus('');
  };
  const editable = !current || EDITABLE.includes(current.status);
  return (
    <>
      <h1>Applications</h1>
      <Card title="Your applications">
        <ErrorNote error={apps.error ?? act.error} />
        {status && <p role="status">{status}</p>}
        <Scroll label="Applications table">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Updated</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {apps.data?.data.map((a) => (
                <tr key={a.id}>
                  <td>{a.name}</td>
                  <td data-testid="application-status">{a.status.replace('_', ' ')}</td>
                  <td>{when(a.updated_at)}</td>
                  <td className="actions">
                    <button type="button" onClick={() => edit(a)}>
                      Open<span className="sr-only"> {a.name}</span>
                    </button>
                    {canWrite && SUBMITTABLE.includes(a.status) && (
                      <button type="button" className="primary" onClick={() => act.mutate({ app: a, action: 'submit' })}>
                        Submit for review<span className="sr-only"> {a.name}</span>
                      </button>
                    )}
                    {canWrite && a.status === 'approved' && (
                      <button type="button" onClick={() => act.mutate({ app: a, action: 'publish' })}>
                        Publish<span className="sr-only"> {a.name}</span>
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
        {apps.data?.data.length === 0 && <p>No applications yet.</p>}
        {canWrite && (
          <p>
            <button type="button" onClick={() => edit(null)}>
              New application
            </button>
          </p>
        )}
      </Card>
      {current && <ReviewState app={current} />}
      {canWrite && (
        <Card title={current ? `Edit ${current.name}` : 'New application'}>
          {!editable && (
            <p>This application is {current?.status.replace('_', ' ')}; it can be edited again when a reviewer asks for changes.</p>
          )}
          <form
            onSubmit={(e) => {
              e.preventDefault();
              save.mutate();
            }}
          >
            <fieldset disabled={!editable}>
              <legend className="sr-only">Application details</legend>
              <Field label="Name" value={draft.name} onChange={set('name')} />
              <TextArea label="Description" value={draft.description} onChange={set('description')} />
              <Field
                label="Redirect URIs"
                value={draft.redirect_uris}
                onChange={set('redirect_uris')}
                required={false}
                hint="HTTPS, separated by spaces"
              />
              <Field
                label="Scopes"
                value={draft.scopes}
                onChange={set('scopes')}
                hint="Separated by spaces, e.g. read:partners write:webhooks"
              />
              <div className="row">
                <Field label="Privacy policy URL" type="url" value={draft.privacy_url} onChange={set('privacy_url')} required={false} />
                <Field label="Terms URL" type="url" value={draft.terms_url} onChange={set('terms_url')} required={false} />
              </div>
              <div className="row">
                <Field label="Webhook URL" type="url" value={draft.webhook_url} onChange={set('webhook_url')} required={false} />
                <Field label="Health check URL" type="url" value={draft.health_url} onChange={set('health_url')} required={false} />
              </div>
              <ErrorNote error={save.error} />
              <button type="submit" className="primary" disabled={save.isPending}>
                {current ? 'Save changes' : 'Create draft'}
              </button>
            </fieldset>
          </form>
        </Card>
      )}
    </>
  );
}

/** Where the application stands: the automated security checks of the last submit and the reviewers' notes. */
function ReviewState({ app }: { app: Application }) {
  return (
    <Card title={`Review of ${app.name}`}>
      <p>
        Status: <strong>{app.status.replace('_', ' ')}</strong>
        {app.published_at ? ` — published ${when(app.published_at)}` : ''}
      </p>
      {app.validation && (
        <>
          <h3>Security validation {app.validation.passed ? 'passed' : 'failed'}</h3>
          <ul>
            {app.validation.checks.map((c) => (
              <li key={c.check}>
                {c.passed ? '✓' : '✗'} <span className="sr-only">{c.passed ? 'passed' : 'failed'}</span> {c.message}
              </li>
            ))}
          </ul>
        </>
      )}
      <h3>Reviewer notes</h3>
      {app.review_notes.length === 0 ? (
        <p>No notes yet.</p>
      ) : (
        <ol data-testid="review-notes">
          {app.review_notes.map((n) => (
            <li key={`${n.at}-${n.action}-${n.reviewer}`}>
              <strong>{n.action.replace('_', ' ')}</strong> by {n.reviewer} at {when(n.at)}
              {n.note ? `: ${n.note}` : ''}
            </li>
          ))}
        </ol>
      )}
    </Card>
  );
}
