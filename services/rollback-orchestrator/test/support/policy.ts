import type { StoredPolicy } from '../../src/domain/rollback-policy/rollback-policy.ts';

/** A customer's stored rollback policy (sealed secrets), with what a test changes. */
export const policy = (over: Partial<StoredPolicy> = {}): StoredPolicy => ({
  policy_id: 'rbp_1',
  partner_id: 'prt_1',
  customer_id: 'cus_1',
  name: null,
  mode: 'auto',
  cooldown_minutes: 30,
  max_actions: 5,
  candidates: { pull_requests_merged_within_hours: 24, flags_changed_within_hours: 24, include_suspects: true },
  restore_flags_on_resolve: true,
  notify_emails: [],
  providers: [{ id: 'partner', kind: 'partner_webhook', base_url: 'http://127.0.0.1:1', token: 'enc:v1:x' }],
  journeys: [
    {
      funnel: 'checkout',
      repositories: [{ repository: 'acme/shop', branch: 'main' }],
      flags: [
        { provider_id: 'partner', flag_key: 'new-checkout' },
        { provider_id: 'partner', flag_key: 'fast-pay' },
        { provider_id: 'partner', flag_key: 'promo-banner' },
      ],
      webhooks: [{ url: 'https://hooks.example.com/rollback', secret: 'enc:v1:y' }],
    },
    { funnel: 'signup', repositories: [], flags: [{ provider_id: 'partner', flag_key: 'signup-flag' }], webhooks: [] },
  ],
  ...over,
});
