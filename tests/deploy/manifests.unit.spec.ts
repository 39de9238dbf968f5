import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@pep/testing';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

// No Docker engine or cluster runs here, so the deploy files are validated statically: they parse, and every
// service that exists has its image build, compose entry and Kubernetes workload with working probes.
const services = readdirSync(join(REPO_ROOT, 'services')).filter((s) => existsSync(join(REPO_ROOT, 'services', s, 'src', 'main.ts')));

function docs(file: string): Record<string, any>[] {
  const parsed = parseAllDocuments(readFileSync(join(REPO_ROOT, file), 'utf8'));
  for (const d of parsed) expect(d.errors, `${file}: ${d.errors.map((e) => e.message).join('; ')}`).toEqual([]);
  return parsed.map((d) => d.toJS() as Record<string, any>).filter(Boolean);
}

describe('deploy manifests', () => {
  it('has at least the services the backbone needs', () => {
    expect(services).toContain('gateway');
    expect(services).toContain('partner-registry');
  });

  it.each(services)('%s has a Deployment with probes on the health endpoints, a Service and a PDB', (svc) => {
    const all = docs(`deploy/k8s/${svc}.yaml`);
    const deployment = all.find((d) => d.kind === 'Deployment');
    expect(deployment?.metadata?.name).toBe(svc);
    const container = deployment?.spec?.template?.spec?.containers?.[0];
    expect(container?.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(container?.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(container?.env?.find((e: { name: string }) => e.name === 'SERVICE')?.value).toBe(svc);
    expect(deployment?.spec?.template?.spec?.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(20);
    expect(all.some((d) => d.kind === 'Service')).toBe(true);
    expect(all.some((d) => d.kind === 'PodDisruptionBudget')).toBe(true);
  });

  it('lists every service workload in the kustomization', () => {
    const [k] = docs('deploy/k8s/kustomization.yaml');
    for (const svc of services) expect(k?.resources).toContain(`${svc}.yaml`);
    for (const r of (k?.resources ?? []) as string[]) expect(existsSync(join(REPO_ROOT, 'deploy/k8s', r)), r).toBe(true);
  });

  it('has every service in the compose file, built from the shared Dockerfile with its SERVICE arg', () => {
    const [compose] = docs('infra/compose.yaml');
    for (const svc of services) {
      expect(compose?.services?.[svc]?.build?.args?.SERVICE, svc).toBe(svc);
      expect(compose?.services?.[svc]?.build?.dockerfile).toBe('deploy/docker/Dockerfile');
    }
    for (const dep of ['nats', 'postgres', 'redis']) expect(compose?.services?.[dep]).toBeDefined();
  });

  it('starts the named service in the Docker image', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'deploy/docker/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/ARG SERVICE/);
    expect(dockerfile).toMatch(/services\/\$\{SERVICE\}\/src\/main\.ts/);
    expect(dockerfile).toMatch(/pnpm install --frozen-lockfile/);
  });

  it('scales the dispatcher on JetStream consumer lag', () => {
    const [so] = docs('deploy/k8s/webhook-dispatcher-autoscaling.yaml');
    expect(so?.spec?.triggers?.[0]?.type).toBe('nats-jetstream');
    expect(so?.spec?.minReplicaCount).toBeGreaterThanOrEqual(2);
  });
});
