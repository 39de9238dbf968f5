/**
 * Progress of a long operator command (a rebuild, a replay): a bar with rate and ETA on a terminal, one plain line
 * every few seconds otherwise (CI logs, pipes). Written to stderr: stdout holds only the command's answer.
 */

export interface ProgressSample {
  done: number;
  total: number;
  /** Per second, over the last samples (undefined until there are two). */
  rate?: number;
  /** Seconds left at that rate (undefined when unknown). */
  etaS?: number;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

/** One line: `label [█████░░░░░]  45.0%  1,234/5,000 ev  2,345 ev/s  ETA 0:03`. */
export function renderProgress(label: string, s: ProgressSample, unit: string, width = 24): string {
  const ratio = s.total > 0 ? Math.min(1, Math.max(0, s.done / s.total)) : 0;
  const filled = Math.floor(ratio * width);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
  const rate = s.rate === undefined ? '' : `  ${fmt(s.rate)} ${unit}/s`;
  const eta = s.etaS === undefined ? '' : `  ETA ${formatDuration(s.etaS)}`;
  return `${label} [${bar}] ${(ratio * 100).toFixed(1).padStart(5)}%  ${fmt(s.done)}/${fmt(s.total)} ${unit}${rate}${eta}`;
}

/** Rate over a sliding window of samples, and the ETA from it. */
export function progressMeter(windowMs = 10_000, now: () => number = Date.now) {
  const samples: { t: number; done: number }[] = [];
  return (done: number, total: number): ProgressSample => {
    const t = now();
    samples.push({ t, done });
    while (samples.length > 2 && t - (samples[0]?.t ?? t) > windowMs) samples.shift();
    const first = samples[0];
    if (!first || t === first.t) return { done, total };
    const rate = Math.max(0, (done - first.done) / ((t - first.t) / 1000));
    return { done, total, rate, ...(rate > 0 ? { etaS: Math.max(0, total - done) / rate } : {}) };
  };
}

export function progressReporter(opts: { label: string; unit: string; out?: NodeJS.WriteStream; plainEveryMs?: number }) {
  const out = opts.out ?? process.stderr;
  const tty = Boolean(out.isTTY) && !process.env.CI;
  const meter = progressMeter();
  let lastPlain = 0;
  let last = '';
  return {
    update(done: number, total: number) {
      last = renderProgress(opts.label, meter(done, total), opts.unit);
      if (tty) out.write(`\r\x1b[K${last}`);
      else if (Date.now() - lastPlain >= (opts.plainEveryMs ?? 2000)) {
        lastPlain = Date.now();
        out.write(`${last}\n`);
      }
    },
    finish(message: string) {
      if (tty) out.write(`\r\x1b[K${last}\n`);
      else if (last) out.write(`${last}\n`);
      out.write(`${message}\n`);
    },
  };
}
