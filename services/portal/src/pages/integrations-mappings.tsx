import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, type IntegrationMapping, type Page } from '../api.ts';
import { Card, ErrorNote, Field, when } from '../ui.tsx';
import { pretty, Scroll, TextArea } from './form-parts.tsx';

interface Preview {
  ok: boolean;
  mapping: { event_type: string; version: number | null } | null;
  payload: unknown;
  error: { class: string; code: string; message: string; position: number | null } | null;
}

const SAMPLE = JSON.stringify(
  { lead_id: 'lead_001', email: 'jane.doe@example.com', first_name: 'Jane', last_name: 'Doe', source: 'web' },
  null,
  2,
);
const STARTER = '{\n  "id": lead_id,\n  "contact": { "email": email, "name": first_name & " " & last_name }\n}';

/** The value after it stopped changing for `ms` (the preview runs when the typing pauses, not on every key). */
function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

/** Field mappings (JSONata over the event's data) of one integration, edited with a live preview of the delivery body. */
export function MappingsCard({ integrationId, canWrite }: { integrationId: string; canWrite: boolean }) {
  const qc = useQueryClient();
  const mappings = useQuery({
    queryKey: ['mappings', integrationId],
    queryFn: () => api<Page<IntegrationMapping>>('GET', `/v1/integrations/${integrationId}/mappings`),
  });
  const [eventType, setEventType] = useState('lead.created');
  const [expression, setExpression] = useState(STARTER);
  const [sample, setSample] = useState(SAMPLE);
  const [saved, setSaved] = useState('');
  const input = useSettled({ eventType, expression, sample }, 350);
  let sampleData: unknown;
  let sampleError = '';
  try {
    sampleData = JSON.parse(input.sample);
  } catch (err) {
    sampleError = `The sample event data is not JSON: ${err instanceof Error ? err.message : String(err)}`;
  }
  const sampleType = input.eventType.includes('*') ? 'lead.created' : input.eventType;
  const preview = useQuery({
    queryKey: ['mapping-preview', integrationId, sampleType, input.expression, input.sample],
    enabled: sampleError === '' && input.expression.trim() !== '' && /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/.test(sampleType),
    placeholderData: keepPreviousData,
    retry: false,
    queryFn: () =>
      api<Preview>('POST', `/v1/integrations/${integrationId}/mappings/preview`, {
        event: { type: sampleType, data: sampleData },
        expression: input.expression,
      }),
  });
  const refresh = () => qc.invalidateQueries({ queryKey: ['mappings', integrationId] });
  const save = useMutation({
    mutationFn: () => api<IntegrationMapping>('PUT', `/v1/integrations/${integrationId}/mappings`, { event_type: eventType, expression }),
    onSuccess: (m) => {
      setSaved(`Saved the mapping of ${m.event_type} as version ${m.version}.`);
      void refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (type: string) => api('DELETE', `/v1/integrations/${integrationId}/mappings/${encodeURIComponent(type)}`),
    onSuccess: () => {
      setSaved('Mapping removed: those deliveries carry the unmapped event again.');
      void refresh();
    },
  });
  const p = preview.data;
  return (
    <Card title="Field mappings">
      <ErrorNote error={mappings.error ?? remove.error} />
      <Scroll label="Mappings table">
        <table>
          <thead>
            <tr>
              <th scope="col">Event type</th>
              <th scope="col">Version</th>
              <th scope="col">Expression</th>
              <th scope="col">Updated</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {mappings.data?.data.map((m) => (
              <tr key={m.event_type}>
                <td>{m.event_type}</td>
                <td>{m.version}</td>
                <td>
                  <code className="clip">{m.expression}</code>
                </td>
                <td>{when(m.updated_at)}</td>
                <td className="actions">
                  <button
                    type="button"
                    onClick={() => {
                      setEventType(m.event_type);
                      setExpression(m.expression);
                    }}
                  >
                    Edit<span className="sr-only"> mapping of {m.event_type}</span>
                  </button>
                  {canWrite && (
                    <button type="button" className="danger" onClick={() => remove.mutate(m.event_type)}>
                      Remove<span className="sr-only"> mapping of {m.event_type}</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Scroll>
      {mappings.data?.data.length === 0 && <p>No mappings: deliveries carry the event's data unchanged.</p>}
      <h3>Edit a mapping</h3>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <div className="split">
          <div>
            <Field label="Mapping event type" value={eventType} onChange={setEventType} hint='An event type, "lead.*" or "*"' />
            <TextArea
              label="Mapping expression (JSONata)"
              value={expression}
              onChange={setExpression}
              rows={7}
              mono
              hint="Over the event's data ($); $event holds id, type, time, source and subject"
            />
            <TextArea label="Sample event data (JSON)" value={sample} onChange={setSample} rows={7} mono />
          </div>
          <section aria-labelledby="preview-heading">
            <h4 id="preview-heading">Preview of the delivery body</h4>
            <div aria-live="polite" data-testid="mapping-preview">
              {sampleError && <p className="error">{sampleError}</p>}
              <ErrorNote error={preview.error} />
              {p && !p.ok && p.error && (
                <p className="error" data-testid="mapping-preview-error">
                  {p.error.class}: {p.error.message}
                  {p.error.position !== null ? ` (at position ${p.error.position})` : ''}
                </p>
              )}
              {p?.ok && <pre className="code">{pretty(p.payload)}</pre>}
              {preview.isFetching && <p className="hint">Updating…</p>}
            </div>
          </section>
        </div>
        <ErrorNote error={save.error} />
        {saved && <p role="status">{saved}</p>}
        {canWrite && (
          <button type="submit" className="primary" disabled={save.isPending}>
            Save mapping
          </button>
        )}
      </form>
    </Card>
  );
}
