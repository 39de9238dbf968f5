// Small SVG charts (no dependency): bars over time and a line, each with a text alternative and the numbers in a
// visually hidden table, so a screen reader user gets what a sighted one sees.
import { useId } from 'react';

export interface Point {
  label: string;
  value: number;
}

const W = 640;
const H = 200;
const PAD = { top: 12, right: 12, bottom: 28, left: 48 };

function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  const n = max / p;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * p;
}

/** Points with a unique key each (labels may repeat, e.g. two attempts in one hour). */
function keyed<T extends Point>(points: readonly T[]): (T & { key: string })[] {
  const seen = new Map<string, number>();
  return points.map((p) => {
    const n = seen.get(p.label) ?? 0;
    seen.set(p.label, n + 1);
    return { ...p, key: `${p.label}#${n}` };
  });
}

const fmt = (v: number) => (Math.abs(v) >= 1000 ? `${Math.round(v / 100) / 10}k` : `${Math.round(v * 100) / 100}`);

function Frame({ title, summary, points, unit, children, max }: FrameProps & { children: React.ReactNode; max: number }) {
  const id = useId();
  const ticks = [0, max / 2, max];
  const plotH = H - PAD.top - PAD.bottom;
  const every = Math.max(1, Math.ceil(points.length / 8));
  const step = (W - PAD.left - PAD.right) / Math.max(points.length, 1);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-t ${id}-d`} preserveAspectRatio="xMidYMid meet">
        <title id={`${id}-t`}>{title}</title>
        <desc id={`${id}-d`}>{summary}</desc>
        {ticks.map((t) => {
          const y = PAD.top + plotH - (t / max) * plotH;
          return (
            <g key={t}>
              <line x1={PAD.left} x2={W - PAD.right} y1={y} y2={y} stroke="#d0d5dd" />
              <text x={PAD.left - 6} y={y + 4} textAnchor="end" fontSize="11" fill="#344054">
                {fmt(t)}
              </text>
            </g>
          );
        })}
        {children}
        {keyed(points.map((p, i) => ({ ...p, x: PAD.left + step * (i + 0.5), shown: i % every === 0 })))
          .filter((p) => p.shown)
          .map((p) => (
            <text key={p.key} x={p.x} y={H - 8} textAnchor="middle" fontSize="11" fill="#344054">
              {p.label}
            </text>
          ))}
      </svg>
      <figcaption>
        {title}
        {unit ? ` (${unit})` : ''}
      </figcaption>
      <table className="sr-only">
        <caption>{title}</caption>
        <tbody>
          {keyed(points).map((p) => (
            <tr key={p.key}>
              <th scope="row">{p.label}</th>
              <td>{p.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

interface FrameProps {
  title: string;
  /** One sentence a screen reader reads for the whole chart (totals, the trend). */
  summary: string;
  points: Point[];
  unit?: string;
}

/** Bars, one per point (hours, days). */
export function BarChart(props: FrameProps & { max?: number }) {
  const max = niceMax(props.max ?? Math.max(0, ...props.points.map((p) => p.value)));
  const plotH = H - PAD.top - PAD.bottom;
  const step = (W - PAD.left - PAD.right) / Math.max(props.points.length, 1);
  if (props.points.length === 0) return <p className="hint">{props.title}: no data in this period yet.</p>;
  return (
    <Frame {...props} max={max}>
      {keyed(props.points.map((p, i) => ({ ...p, x: PAD.left + step * i + step * 0.15 }))).map((p) => {
        const h = (Math.max(0, p.value) / max) * plotH;
        return (
          <rect key={p.key} x={p.x} y={PAD.top + plotH - h} width={step * 0.7} height={h} fill="#1d4ed8">
            <title>{`${p.label}: ${p.value}`}</title>
          </rect>
        );
      })}
    </Frame>
  );
}

/** A line through the points (rates, latencies). */
export function LineChart(props: FrameProps & { max?: number }) {
  const max = niceMax(props.max ?? Math.max(0, ...props.points.map((p) => p.value)));
  const plotH = H - PAD.top - PAD.bottom;
  const step = (W - PAD.left - PAD.right) / Math.max(props.points.length, 1);
  if (props.points.length === 0) return <p className="hint">{props.title}: no data in this period yet.</p>;
  const xy = keyed(
    props.points.map((p, i) => ({ ...p, x: PAD.left + step * (i + 0.5), y: PAD.top + plotH - (Math.max(0, p.value) / max) * plotH })),
  );
  return (
    <Frame {...props} max={max}>
      <polyline points={xy.map((p) => `${p.x},${p.y}`).join(' ')} fill="none" stroke="#067647" strokeWidth="2.5" />
      {xy.map((p) => (
        <circle key={p.key} cx={p.x} cy={p.y} r="3.5" fill="#067647">
          <title>{`${p.label}: ${p.value}`}</title>
        </circle>
      ))}
    </Frame>
  );
}

/** `2026-12-01T13:00:00Z` → `13:00` or `Dec 1`, for axis labels. */
export const hourLabel = (iso: string) => new Date(iso).toISOString().slice(11, 16);
export const dayLabel = (iso: string) => new Date(iso).toLocaleDateString('en', { month: 'short', day: 'numeric', timeZone: 'UTC' });
