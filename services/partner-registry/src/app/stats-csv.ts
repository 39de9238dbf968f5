/**
 * CSV (RFC 4180): comma-separated, CRLF line ends, a field quoted when it holds a comma, quote, CR or LF (quotes
 * doubled). A text field that starts with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'` so a spreadsheet does
 * not run it as a formula (numbers are written as they are).
 */
export type CsvCell = string | number | null;

function cell(v: CsvCell): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function toCsv(header: string[], rows: CsvCell[][]): string {
  return [header, ...rows]
    .map((r) => r.map(cell).join(','))
    .join('\r\n')
    .concat('\r\n');
}
