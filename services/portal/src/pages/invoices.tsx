import { useQuery } from '@tanstack/react-query';
import { api, type Page } from '../api.ts';
import { Card, ErrorNote, when } from '../ui.tsx';

interface Invoice {
  id: string;
  period: string;
  status: string;
  currency: string;
  total: number;
  issued_at?: string | null;
}

/** Invoices (billing roles only: the gateway refuses `read:billing` to other roles whatever the page does). */
export function InvoicesPage() {
  const invoices = useQuery({ queryKey: ['invoices'], queryFn: () => api<Page<Invoice>>('GET', '/v1/billing/invoices?limit=100') });
  return (
    <>
      <h1>Invoices</h1>
      <Card title="Invoices">
        <ErrorNote error={invoices.error} />
        <table>
          <thead>
            <tr>
              <th scope="col">Invoice</th>
              <th scope="col">Period</th>
              <th scope="col">Status</th>
              <th scope="col">Total</th>
              <th scope="col">Issued</th>
            </tr>
          </thead>
          <tbody>
            {invoices.data?.data.map((i) => (
              <tr key={i.id}>
                <td>
                  <code>{i.id}</code>
                </td>
                <td>{i.period}</td>
                <td>{i.status}</td>
                <td>
                  {(i.total / 100).toFixed(2)} {i.currency}
                </td>
                <td>{when(i.issued_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </>
  );
}
