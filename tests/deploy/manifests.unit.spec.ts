import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { at, listAt, REPO_ROOT } from '@pep/testing';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

// No Docker engine or cluster runs here, so the deploy files are validated statically: they parse, and every
// service that exists has its image build, compose entry and Kubernetes workload with working probes.
const services = readdirSync(join(REPO_ROOT, 'services')).filter((s) => existsSync(join(REPO_ROOT, 'services', s, 'src', 'main.ts')));

function docs(file: string): unknown[] {
  const parsed = parseAllDocuments(readFileSync(join(REPO_ROOT, file), 'utf8'));
  for (const d of parsed) expect(d.errors, `${file}: ${d.errors.map((e) => e.message).join('; ')}`).toEqual([]);
  return parsed.map((d): unknown => d.toJS()).filter(Boolean);
}

describe('deploy manifests', () => {
  it('has at least the services the backbone needs', () => {
    expect(services).toContain('gateway');
    expect(services).toContain('partner-registry');
  });

  it.each(services)('%s has a Deployment with probes on the health endpoints, a Service and a PDB', (svc) => {
    const all = docs(`deploy/k8s/${svc}.yaml`);
    const deployment = all.find((d) => at(d, 'kind') === 'Deployment');
    expect(at(deployment, 'metadata', 'name')).toBe(svc);
    const container = at(deployment, 'spec', 'template', 'spec', 'containers', 0);
    expect(at(container, 'readinessProbe', 'httpGet', 'path')).toBe('/readyz');
    expect(at(container, 'livenessProbe', 'httpGet', 'path')).toBe('/healthz');
    expect(
      at(
        listAt(container, 'env').find((e) => at(e, 'name') === 'SERVICE'),
        'value',
      ),
    ).toBe(svc);
    expect(at(deployment, 'spec', 'template', 'spec', 'terminationGracePeriodSeconds')).toBeGreaterThanOrEqual(20);
    expect(all.some((d) => at(d, 'kind') === 'Service')).toBe(true);
    expect(all.some((d) => at(d, 'kind') === 'PodDisruptionBudget')).toBe(true);
  });

  it('lists every service workload in the kustomization', () => {
    const [k] = docs('deploy/k8s/kustomization.yaml');
    for (const svc of services) expect(at(k, 'resources')).toContain(`${svc}.yaml`);
    for (const r of listAt(k, 'resources') as string[]) expect(existsSync(join(REPO_ROOT, 'deploy/k8s', r)), r).toBe(true);
  });

  it('has every service in the compose file, built from the shared Dockerfile with its SERVICE arg', () => {
    const [compose] = docs('infra/compose.yaml');
    for (const svc of services) {
      expect(at(compose, 'services', svc, 'build', 'args', 'SERVICE'), svc).toBe(svc);
      expect(at(compose, 'services', svc, 'build', 'dockerfile')).toBe('deploy/docker/Dockerfile');
    }
    for (const dep of ['nats', 'postgres', 'redis']) expect(at(compose, 'services', dep)).toBeDefined();
  });

  it('starts the named service in the Docker image', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'deploy/docker/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/ARG SERVICE/);
    expect(dockerfile).toMatch(/services\/\$\{SERVICE\}\/src\/main\.ts/);
    expect(dockerfile).toMatch(/pnpm install --frozen-lockfile/);
  });

  it('scales the dispatcher on JetStream consumer lag', () => {
    const [so] = docs('deploy/k8s/webhook-dispatcher-autoscaling.yaml');
    expect(at(so, 'spec', 'triggers', 0, 'type')).toBe('nats-jetstream');
    expect(at(so, 'spec', 'minReplicaCount')).toBeGreaterThanOrEqual(2);
  });
});
