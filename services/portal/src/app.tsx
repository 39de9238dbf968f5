import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { api, type SignedIn } from './api.ts';
import { ReviewQueuePage } from './pages/admin.tsx';
import { AdminInvitesPage } from './pages/admin-invites.tsx';
import { PartnerReviewPage } from './pages/admin-partners.tsx';
import { AcceptInvitationPage, ResetPasswordPage, SignInLinkPage, SignInPage, VerifyEmailPage } from './pages/auth.tsx';
import { ApplicationsPage } from './pages/applications.tsx';
import { DeliveriesPage } from './pages/deliveries.tsx';
import { EndpointsPage } from './pages/endpoints.tsx';
import { RollbackPoliciesPage } from './pages/incidents-policies.tsx';
import { IncidentsPage } from './pages/incidents.tsx';
import { IntegrationsPage } from './pages/integrations.tsx';
import { InvoicesPage } from './pages/invoices.tsx';
import { KeysPage } from './pages/keys.tsx';
import { ListingPage } from './pages/listing.tsx';
import { OAuthClientsPage } from './pages/oauth.tsx';
import { OperationsPage } from './pages/operations.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { TeamPage } from './pages/team.tsx';
import { TicketsPage } from './pages/tickets.tsx';
import { UsagePage } from './pages/usage.tsx';
import { navigate, usePath } from './router.ts';
import { allows, useSession } from './session.ts';
import { Link } from './ui.tsx';

const OPEN_PAGES: Record<string, () => React.ReactElement> = {
  '/sign-in': SignInPage,
  '/accept-invitation': AcceptInvitationPage,
  '/sign-in-link': SignInLinkPage,
  '/reset-password': ResetPasswordPage,
  '/verify-email': VerifyEmailPage,
};

interface NavItem {
  path: string;
  label: string;
  scope: string;
  partnerOnly?: boolean;
  adminOnly?: boolean;
}
/** Each page appears only when the session's scopes allow what it shows (the API refuses the rest anyway). */
const NAV: NavItem[] = [
  { path: '/', label: 'Overview', scope: 'manage:account' },
  { path: '/keys', label: 'API keys', scope: 'read:api_keys', partnerOnly: true },
  { path: '/endpoints', label: 'Webhook endpoints', scope: 'read:webhooks', partnerOnly: true },
  { path: '/deliveries', label: 'Deliveries', scope: 'read:webhooks', partnerOnly: true },
  { path: '/applications', label: 'Applications', scope: 'read:applications', partnerOnly: true },
  { path: '/oauth-clients', label: 'OAuth clients', scope: 'read:oauth_clients', partnerOnly: true },
  { path: '/integrations', label: 'Integrations', scope: 'read:integrations', partnerOnly: true },
  { path: '/listing', label: 'Listing', scope: 'write:marketplace', partnerOnly: true },
  { path: '/invoices', label: 'Invoices', scope: 'read:billing', partnerOnly: true },
  { path: '/usage', label: 'Usage', scope: 'read:billing', partnerOnly: true },
  { path: '/support', label: 'Support', scope: 'read:support', partnerOnly: true },
  { path: '/team', label: 'Team', scope: 'read:team', partnerOnly: true },
  // Incidents and the admin console (p-admin): incidents for every role that reads them, platform admins included.
  { path: '/incidents', label: 'Incidents', scope: 'read:incidents' },
  { path: '/rollback-policies', label: 'Rollback policies', scope: 'read:rollback' },
  { path: '/admin/partners', label: 'Partner review', scope: 'admin', adminOnly: true },
  { path: '/admin/reviews', label: 'Application review', scope: 'admin', adminOnly: true },
  { path: '/admin/operations', label: 'Operations', scope: 'admin', adminOnly: true },
  { path: '/admin/admins', label: 'Platform admins', scope: 'admin', adminOnly: true },
];

export function App() {
  const path = usePath();
  const session = useSession();
  const Open = OPEN_PAGES[path];
  useEffect(() => {
    if (!Open && session.isSuccess && session.data === null) navigate('/sign-in');
  }, [Open, session.isSuccess, session.data]);
  if (Open) return <Open />;
  if (!session.data) return <p role="status">Loading…</p>;
  return <Shell session={session.data} path={path} />;
}

function Shell({ session, path }: { session: SignedIn; path: string }) {
  const qc = useQueryClient();
  const platformAdmin = session.user.role === 'platform_admin';
  const partnerId = session.user.partner_id ?? '';
  const items = NAV.filter((n) => allows(session.scopes, n.scope) && (!n.partnerOnly || !platformAdmin) && (!n.adminOnly || platformAdmin));
  const signOut = useMutation({
    mutationFn: () => api('POST', '/v1/auth/sign-out'),
    onSettled: () => {
      qc.setQueryData(['session'], null);
      navigate('/sign-in');
    },
  });
  const visible = items.some((n) => n.path === path);
  const can = (scope: string) => allows(session.scopes, scope);
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header>
        <span className="brand">Partner portal</span>
        <nav aria-label="Main">
          <ul>
            {items.map((n) => (
              <li key={n.path}>
                <Link to={n.path}>{n.path === path ? <span aria-current="page">{n.label}</span> : n.label}</Link>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" onClick={() => signOut.mutate()}>
          Sign out
        </button>
      </header>
      <main id="main">
        {!visible && <p>This page is not available to your role.</p>}
        {visible && path === '/' && <OverviewPage session={session} />}
        {visible && path === '/keys' && <KeysPage partnerId={partnerId} />}
        {visible && path === '/endpoints' && <EndpointsPage />}
        {visible && path === '/deliveries' && <DeliveriesPage canWrite={can('write:webhooks')} />}
        {visible && path === '/applications' && <ApplicationsPage canWrite={can('write:applications')} />}
        {visible && path === '/oauth-clients' && <OAuthClientsPage canManage={can('manage:oauth_clients')} />}
        {visible && path === '/integrations' && <IntegrationsPage canWrite={can('write:integrations')} />}
        {visible && path === '/listing' && <ListingPage canWrite={can('write:marketplace')} />}
        {visible && path === '/usage' && <UsagePage />}
        {visible && path === '/support' && <TicketsPage canWrite={can('write:support')} />}
        {visible && path === '/invoices' && <InvoicesPage />}
        {visible && path === '/team' && <TeamPage partnerId={partnerId} canManage={allows(session.scopes, 'manage:team')} />}
        {visible && path === '/incidents' && <IncidentsPage canWrite={allows(session.scopes, 'write:incidents')} />}
        {visible && path === '/rollback-policies' && (
          <RollbackPoliciesPage canWrite={allows(session.scopes, 'write:rollback')} platformAdmin={platformAdmin} />
        )}
        {visible && path === '/admin/partners' && <PartnerReviewPage />}
        {visible && path === '/admin/reviews' && <ReviewQueuePage />}
        {visible && path === '/admin/operations' && <OperationsPage />}
        {visible && path === '/admin/admins' && <AdminInvitesPage />}
      </main>
    </>
  );
}
