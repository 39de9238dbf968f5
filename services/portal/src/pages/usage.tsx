import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../api.ts';
import { Scroll } from './form-parts.tsx';
import { Card, ErrorNote, Select } from '../ui.tsx';
import { BarChart, dayLabel, hourLabel } from './charts.tsx';

export interface UsageBucket {
  meter: string;
  window_start: string;
  window_end: string;
  value: number;
}
export interface UsageReport {
  from: string;
  to: string;
  window: 'hour' | 'day' | 'month';
  data: UsageBucket[];
}

/** Usage per meter, summed over the buckets (and the buckets by meter, in time order). */
export function byMeter(report: UsageReport | undefined): Map<string, UsageBucket[]> {
  const out = new Map<string, UsageBucket[]>();
  for (const b of report?.data ?? []) out.set(b.meter, [...(out.get(b.meter) ?? []), b]);
  return out;
}
const total = (bs: UsageBucket[]) => bs.reduce((n, b) => n + b.value, 0);
const meterName = (m: string) => m.replaceAll('_', ' ');

/** This period's metered usage (GET /v1/billing/usage), one chart per meter; billing roles only. */
export function UsagePage() {
  const [window, setWindow] = useState('day');
  const usage = useQuery({
    queryKey: ['usage', window],
    queryFn: () => api<UsageReport>('GET', `/v1/billing/usage?window=${window}`),
  });
  const meters = byMeter(usage.data);
  const label = window === 'hour' ? hourLabel : dayLabel;
  return (
    <>
      <h1>Usage</h1>
      <Card title="This billing period">
        <Select label="Per" value={window} onChange={setWindow} options={['hour', 'day', 'month']} />
        <ErrorNote error={usage.error} />
        {usage.data && (
          <p>
            From {dayLabel(usage.data.from)} to {dayLabel(usage.data.to)} (UTC).
          </p>
        )}
        {usage.data && meters.size === 0 && <p>No metered usage in this period yet.</p>}
        <Scroll label="Usage by meter">
          <table>
            <thead>
              <tr>
                <th scope="col">Meter</th>
                <th scope="col">Total this period</th>
              </tr>
            </thead>
            <tbody>
              {[...meters].map(([m, bs]) => (
                <tr key={m}>
                  <td>{meterName(m)}</td>
                  <td data-testid={`usage-${m}`}>{total(bs).toLocaleString('en')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      </Card>
      {[...meters].map(([m, bs]) => (
        <Card key={m} title={meterName(m)}>
          <BarChart
            title={`${meterName(m)} per ${window}`}
            summary={`${total(bs)} in ${bs.length} ${window}s with usage`}
            points={bs.map((b) => ({ label: label(b.window_start), value: b.value }))}
          />
        </Card>
      ))}
    </>
  );
}
