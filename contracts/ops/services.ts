/**
 * The services that answer the operator (`ops.*`) requests: every service run by @pep/service. No zod here, so the
 * portal can import the list without the schemas.
 */
export const OPS_SERVICES = [
  'billing',
  'github-bridge',
  'marketplace',
  'partner-registry',
  'rollback-orchestrator',
  'webhook-dispatcher',
] as const;
export type OpsService = (typeof OPS_SERVICES)[number];
