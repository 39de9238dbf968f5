// `pnpm conformance <base-url> --token <token> [--calls 50] [--flag key] [--json]`
// Checks a partner's flag webhook (POST {base-url}/webhook/pathcanary) against the partner program's spec.
import { formatReport, runConformance } from './checks.ts';

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const positional = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && argv[i - 1]?.startsWith('--') && argv[i - 1] !== '--json'));
const baseUrl = positional[0];
const token = opt('token') ?? process.env.PARTNER_TOKEN;
if (!baseUrl || !token) {
  process.stderr.write('usage: pnpm conformance <base-url> --token <token> [--calls 50] [--flag <key>] [--json]\n');
  process.exit(2);
}
const report = await runConformance({
  baseUrl,
  token,
  calls: Number(opt('calls') ?? 50),
  ...(opt('flag') ? { flagKey: opt('flag') as string } : {}),
});
process.stdout.write(argv.includes('--json') ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, process.stdout.isTTY));
process.exit(report.passed ? 0 : 1);
