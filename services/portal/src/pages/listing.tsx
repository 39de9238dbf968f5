import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { type Application, api, type ListingContent, type ListingDraft, type Page, type PricingPlan } from '../api.ts';
import { Card, ErrorNote, Field, Select, when } from '../ui.tsx';
import { TextArea } from './form-parts.tsx';
import { ListingReviews } from './listing-reviews.tsx';

/** The marketplace's listing id of an application (marketplace/src/domain/listing: `lst_` + the application's id). */
export const listingIdOf = (applicationId: string) => `lst_${applicationId.replace(/^app_/, '')}`;

interface Form {
  tagline: string;
  description: string;
  logo_url: string;
  screenshots: string;
  categories: string;
  support_email: string;
  documentation_url: string;
  privacy_url: string;
  terms_url: string;
  plans: PricingPlan[];
}
const toForm = (c: ListingContent): Form => ({
  tagline: c.tagline ?? '',
  description: c.description ?? '',
  logo_url: c.logo_url ?? '',
  screenshots: c.screenshots.join('\n'),
  categories: c.categories.join(' '),
  support_email: c.support_email ?? '',
  documentation_url: c.documentation_url ?? '',
  privacy_url: c.privacy_url ?? '',
  terms_url: c.terms_url ?? '',
  plans: c.pricing_plans,
});
const orNull = (v: string) => (v.trim() ? v.trim() : null);
const toContent = (f: Form): ListingContent => ({
  tagline: orNull(f.tagline),
  description: orNull(f.description),
  logo_url: orNull(f.logo_url),
  screenshots: f.screenshots.split(/\s+/).filter(Boolean),
  categories: f.categories.split(/[\s,]+/).filter(Boolean),
  support_email: orNull(f.support_email),
  documentation_url: orNull(f.documentation_url),
  privacy_url: orNull(f.privacy_url),
  terms_url: orNull(f.terms_url),
  pricing_plans: f.plans,
});
const NEW_PLAN: PricingPlan = { name: 'Starter', model: 'free', amount: 0, currency: 'USD', interval: null, unit: null, trial_days: 0 };

/** Marketplace listing editor: the draft with its checklist, a live preview, save, publish; the reviews with answers. */
export function ListingPage({ canWrite }: { canWrite: boolean }) {
  const apps = useQuery({
    queryKey: ['applications', 'listed'],
    queryFn: () => api<Page<Application>>('GET', '/v1/applications?limit=100'),
  });
  const listed = (apps.data?.data ?? []).filter((a) => a.status === 'published' || a.status === 'deprecated');
  const [chosen, setChosen] = useState('');
  const app = listed.find((a) => a.id === chosen) ?? listed[0];
  return (
    <>
      <h1>Marketplace listing</h1>
      <Card title="Application">
        <ErrorNote error={apps.error} />
        {apps.data && listed.length === 0 ? (
          <p>A listing appears when one of your applications is published (Applications → Publish after approval).</p>
        ) : (
          <Select
            label="Listing of"
            value={app?.id ?? ''}
            onChange={setChosen}
            options={listed.map((a) => a.id)}
            labels={Object.fromEntries(listed.map((a) => [a.id, a.name]))}
          />
        )}
      </Card>
      {app && <ListingEditor key={app.id} app={app} canWrite={canWrite} />}
      {app && <ListingReviews listingId={listingIdOf(app.id)} canWrite={canWrite} />}
    </>
  );
}

function ListingEditor({ app, canWrite }: { app: Application; canWrite: boolean }) {
  const qc = useQueryClient();
  const id = listingIdOf(app.id);
  const draft = useQuery({
    queryKey: ['listing-draft', id],
    queryFn: () => api<ListingDraft>('GET', `/v1/marketplace/listings/${id}/draft`),
  });
  const [form, setForm] = useState<Form | null>(null);
  const [status, setStatus] = useState('');
  useEffect(() => {
    if (draft.data && form === null) setForm(toForm(draft.data.draft));
  }, [draft.data, form]);
  const save = useMutation({
    mutationFn: (f: Form) => api<ListingDraft>('PUT', `/v1/marketplace/listings/${id}/draft`, toContent(f)),
    onSuccess: (d) => {
      qc.setQueryData(['listing-draft', id], d);
      setStatus(d.ready ? 'Draft saved; every checklist item is met, it can be published.' : 'Draft saved.');
    },
  });
  const publish = useMutation({
    mutationFn: () => api('POST', `/v1/marketplace/listings/${id}/draft/publish`),
    onSuccess: () => {
      setStatus('Published: the marketplace shows this content now.');
      void qc.invalidateQueries({ queryKey: ['listing-draft', id] });
    },
  });
  if (!form) return <ErrorNote error={draft.error} />;
  const set = (k: Exclude<keyof Form, 'plans'>) => (v: string) => setForm({ ...form, [k]: v });
  const setPlan = (i: number, p: Partial<PricingPlan>) =>
    setForm({ ...form, plans: form.plans.map((x, j) => (j === i ? { ...x, ...p } : x)) });
  const d = draft.data;
  return (
    <div className="split">
      <Card title="Edit the draft">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate(form);
          }}
        >
          <fieldset disabled={!canWrite}>
            <legend className="sr-only">Listing content</legend>
            <Field label="Tagline" value={form.tagline} onChange={set('tagline')} required={false} />
            <TextArea label="Description (Markdown)" value={form.description} onChange={set('description')} rows={6} required={false} />
            <Field label="Logo URL" type="url" value={form.logo_url} onChange={set('logo_url')} required={false} />
            <TextArea
              label="Screenshot URLs"
              value={form.screenshots}
              onChange={set('screenshots')}
              rows={3}
              required={false}
              hint="One per line, 3 to 5"
            />
            <Field
              label="Categories"
              value={form.categories}
              onChange={set('categories')}
              required={false}
              hint="Up to 3 slugs, e.g. crm developer-tools"
            />
            <Field label="Support email" type="email" value={form.support_email} onChange={set('support_email')} required={false} />
            <Field
              label="Documentation URL"
              type="url"
              value={form.documentation_url}
              onChange={set('documentation_url')}
              required={false}
            />
            <Field label="Listing privacy URL" type="url" value={form.privacy_url} onChange={set('privacy_url')} required={false} />
            <Field label="Listing terms URL" type="url" value={form.terms_url} onChange={set('terms_url')} required={false} />
            <h3>Pricing plans</h3>
            {form.plans.map((p, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: plans are positional (Plan 1, Plan 2, …) and edited in place
              <fieldset key={i} className="plan">
                <legend>Plan {i + 1}</legend>
                <div className="row">
                  <Field label={`Plan ${i + 1} name`} value={p.name} onChange={(v) => setPlan(i, { name: v })} />
                  <Select
                    label={`Plan ${i + 1} model`}
                    value={p.model}
                    onChange={(v) => setPlan(i, { model: v === 'flat' || v === 'usage_based' ? v : 'free' })}
                    options={['free', 'flat', 'usage_based']}
                  />
                  <Field
                    label={`Plan ${i + 1} amount (minor units)`}
                    type="number"
                    value={String(p.amount)}
                    onChange={(v) => setPlan(i, { amount: Math.max(0, Math.trunc(Number(v) || 0)) })}
                  />
                  <Field label={`Plan ${i + 1} currency`} value={p.currency} onChange={(v) => setPlan(i, { currency: v.toUpperCase() })} />
                </div>
                <button type="button" className="danger" onClick={() => setForm({ ...form, plans: form.plans.filter((_, j) => j !== i) })}>
                  Remove plan {i + 1}
                </button>
              </fieldset>
            ))}
            {form.plans.length < 5 && (
              <button type="button" onClick={() => setForm({ ...form, plans: [...form.plans, NEW_PLAN] })}>
                Add a plan
              </button>
            )}
            <ErrorNote error={save.error ?? publish.error} />
            {status && <p role="status">{status}</p>}
            <p className="actions-row">
              <button type="submit" className="primary" disabled={save.isPending}>
                Save draft
              </button>
              <button type="button" onClick={() => publish.mutate()} disabled={!d?.ready || publish.isPending}>
                Publish
              </button>
            </p>
          </fieldset>
        </form>
        {d && (
          <>
            <h3>Checklist</h3>
            <ul data-testid="listing-checklist">
              {d.checklist.map((c) => (
                <li key={c.item}>
                  {c.ok ? '✓' : '✗'} <span className="sr-only">{c.ok ? 'done' : 'missing'}</span> {c.message}
                </li>
              ))}
            </ul>
            <p className="hint">
              Saved {when(d.saved_at)} · last published {when(d.published_at)}
              {d.unlisted ? ' · unlisted' : ''}
            </p>
          </>
        )}
      </Card>
      <ListingPreview name={app.name} content={toContent(form)} />
    </div>
  );
}

const money = (p: PricingPlan) =>
  p.model === 'free' || p.amount === 0
    ? 'Free'
    : `${(p.amount / 100).toFixed(2)} ${p.currency}${p.model === 'usage_based' ? ` per ${p.unit ?? 'unit'}` : p.interval ? ` / ${p.interval}` : ''}`;

/** How the marketplace will show the listing (the description as text: the marketplace renders its Markdown). */
function ListingPreview({ name, content: c }: { name: string; content: ListingContent }) {
  return (
    <Card title="Preview">
      <article className="listing-preview" aria-label={`Preview of ${name}`}>
        <div className="listing-head">
          {c.logo_url ? <img src={c.logo_url} alt="" width={48} height={48} /> : <span className="logo">{name.slice(0, 1)}</span>}
          <div>
            <h3>{name}</h3>
            <p>{c.tagline ?? 'No tagline yet'}</p>
          </div>
        </div>
        {c.categories.length > 0 && <p className="hint">{c.categories.join(' · ')}</p>}
        <p className="prewrap">{c.description ?? 'No description yet.'}</p>
        {c.pricing_plans.length > 0 && (
          <ul>
            {c.pricing_plans.map((p, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the preview lists the plans in their order
              <li key={`${p.name}-${i}`}>
                <strong>{p.name}</strong>: {money(p)}
              </li>
            ))}
          </ul>
        )}
        <p className="hint">
          {c.screenshots.length} screenshot{c.screenshots.length === 1 ? '' : 's'}
          {c.support_email ? ` · support: ${c.support_email}` : ''}
        </p>
      </article>
    </Card>
  );
}
