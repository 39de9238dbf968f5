/**
 * Scopes in words, for people deciding what to grant (the OAuth consent page, the portal's key form). One sentence
 * per scope, built from the verb and the resource of the one scope vocabulary (scopes.ts).
 */
const RESOURCES: Record<string, string> = {
  partners: 'your partner profile, contacts and agreements',
  applications: 'your applications and their review',
  api_keys: 'your API keys',
  oauth_clients: 'your OAuth clients',
  integrations: 'your integrations, their health and field mappings',
  support: 'your support tickets',
  webhooks: 'your webhook endpoints and their deliveries',
  events: 'the events you publish',
  incidents: 'your incidents',
  rollback: 'your rollback policies and runs',
  billing: 'your invoices, usage, plans and payouts',
  marketplace: 'your marketplace listings and reviews',
  team: 'the people of your team and their roles',
  account: 'your own sign-in sessions',
};
const VERBS: Record<string, string> = {
  read: 'See',
  write: 'See, create and change',
  manage: 'Fully manage (including secrets and deletion of)',
};

export function describeScope(scope: string): string {
  if (scope === 'admin') return 'Do everything in your partner account';
  if (scope === 'openid') return 'Know who you are (your partner account id)';
  if (scope === 'offline_access') return 'Keep this access when you are not using the application';
  const i = scope.indexOf(':');
  const verb = VERBS[scope.slice(0, i)];
  if (i < 0 || !verb) return scope;
  const resource = scope.slice(i + 1);
  const what = resource === '*' ? 'everything in your partner account' : (RESOURCES[resource] ?? resource.replaceAll('_', ' '));
  return `${verb} ${what}`;
}
