import { useId } from 'react';

/** A labelled multi-line text field (descriptions, JSON, mapping expressions). */
export function TextArea(props: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  rows?: number;
  required?: boolean;
  hint?: string;
  mono?: boolean;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <textarea
        id={id}
        rows={props.rows ?? 4}
        value={props.value}
        required={props.required ?? true}
        className={props.mono ? 'mono' : undefined}
        spellCheck={props.mono ? false : undefined}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
        onChange={(e) => props.onChange(e.target.value)}
      />
      {props.hint && (
        <p id={`${id}-hint`} className="hint">
          {props.hint}
        </p>
      )}
    </div>
  );
}

/** `datetime-local` value (local time, no zone) ⇄ ISO 8601 with offset, as the API wants it. */
export const localToIso = (v: string) => (v ? new Date(v).toISOString() : '');
export const isoToLocal = (iso: string) => {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};
export const hoursAgo = (h: number) => isoToLocal(new Date(Date.now() - h * 3_600_000).toISOString());

/** Pretty JSON for display; the raw text when it is not JSON. */
export function pretty(v: unknown): string {
  if (typeof v === 'string') {
    try {
      return JSON.stringify(JSON.parse(v), null, 2);
    } catch {
      return v;
    }
  }
  return JSON.stringify(v, null, 2);
}

/** A table that may be wider than a phone: scrolls sideways on its own, and takes keyboard focus so it can be scrolled. */
export function Scroll({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be focusable to scroll by keyboard (WCAG 2.1.1)
    <section className="scroll" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}
