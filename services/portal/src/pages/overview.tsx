import { useQuery } from '@tanstack/react-query';
import { api, type Delivery, type Page, type SignedIn, type WebhookEndpoint } from '../api.ts';
import { allows } from '../session.ts';
import { Card } from '../ui.tsx';

/** What exists now: the webhook endpoints and their recent deliveries (statistics routes come with issue 14). */
export function OverviewPage({ session }: { session: SignedIn }) {
  const canSee = allows(session.scopes, 'read:webhooks');
  const endpoints = useQuery({
    queryKey: ['endpoints'],
    enabled: canSee,
    queryFn: () => api<Page<WebhookEndpoint>>('GET', '/v1/webhook-endpoints?limit=100'),
  });
  const first = endpoints.data?.data[0]?.id;
  const deliveries = useQuery({
    queryKey: ['deliveries', first, 'any'],
    enabled: !!first,
    queryFn: () => api<Page<Delivery>>('GET', `/v1/webhook-endpoints/${first}/deliveries?limit=50`),
  });
  const list = deliveries.data?.data ?? [];
  const ok = list.filter((d) => d.status === 'succeeded').length;
  const rate = list.length ? Math.round((100 * ok) / list.length) : null;
  return (
    <>
      <h1>Overview</h1>
      <p>
        Signed in as <strong>{session.user.email}</strong> ({session.user.role}).
      </p>
      {canSee ? (
        <div className="tiles">
          <Card title="Endpoints">
            <p className="big">{endpoints.data?.data.length ?? '…'}</p>
          </Card>
          <Card title="Recent deliveries">
            <p className="big">{list.length}</p>
          </Card>
          <Card title="Success rate">
            <p className="big">{rate === null ? '—' : `${rate} %`}</p>
            {rate !== null && (
              <div className="bar" role="img" aria-label={`${rate} percent of recent deliveries succeeded`}>
                <span style={{ width: `${rate}%` }} />
              </div>
            )}
          </Card>
        </div>
      ) : (
        <p>Your role does not include webhooks.</p>
      )}
    </>
  );
}
