import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@pep/testing';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { dispatcherConfigSchema } from '../../services/webhook-dispatcher/src/config.ts';

// No cluster runs here: every Kubernetes object in deploy/k8s is validated against the Kubernetes OpenAPI schemas
// (kubernetes-models: the upstream schemas compiled to validators; KEDA's ScaledObject against its CRD's schema),
// then checked for what the platform needs of it (probes on the health endpoints, PDBs, KEDA on consumer lag).
const services = readdirSync(join(REPO_ROOT, 'services')).filter((s) => existsSync(join(REPO_ROOT, 'services', s, 'src', 'main.ts')));

/** A parsed YAML document, before its schema says more. */
interface Doc {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  [field: string]: unknown;
}

function docs(file: string): Doc[] {
  const parsed = parseAllDocuments(readFileSync(join(REPO_ROOT, file), 'utf8'));
  for (const d of parsed) expect(d.errors, `${file}: ${d.errors.map((e) => e.message).join('; ')}`).toEqual([]);
  return parsed.map((d) => d.toJS() as Doc).filter(Boolean);
}

/** The schema model of each kind the manifests use; a manifest of any other kind fails until it is added here. */
function model(doc: Doc): { validate(): void } | undefined {
  switch (`${doc.apiVersion}/${doc.kind}`) {
    case 'apps/v1/Deployment':
      return new Deployment(doc as ConstructorParameters<typeof Deployment>[0]);
    case 'v1/Service':
      return new Service(doc as ConstructorParameters<typeof Service>[0]);
    case 'policy/v1/PodDisruptionBudget':
      return new PodDisruptionBudget(doc as ConstructorParameters<typeof PodDisruptionBudget>[0]);
    case 'v1/ConfigMap':
      return new ConfigMap(doc as ConstructorParameters<typeof ConfigMap>[0]);
    case 'v1/Secret':
      return new Secret(doc as ConstructorParameters<typeof Secret>[0]);
    case 'v1/Namespace':
      return new Namespace(doc as ConstructorParameters<typeof Namespace>[0]);
    case 'keda.sh/v1alpha1/ScaledObject':
      return new ScaledObject(doc as ConstructorParameters<typeof ScaledObject>[0]);
    default:
      return undefined;
  }
}

/** The one object of a kind in a file, as its typed model (validated by the schema test above). */
function one<T>(file: string, kind: string, make: new (doc: never) => T): T {
  const found = docs(file).filter((d) => d.kind === kind);
  expect(found, `${file}: one ${kind}`).toHaveLength(1);
  return new make(found[0] as never);
}

const kustomization = docs('deploy/k8s/kustomization.yaml')[0] as { namespace?: string; resources?: string[] };
const resources = kustomization.resources ?? [];
const objects = resources.flatMap((file) => docs(`deploy/k8s/${file}`).map((doc) => ({ file, doc })));
const platformConfig = () => one('deploy/k8s/config.yaml', 'ConfigMap', ConfigMap);

describe('Kubernetes manifests', () => {
  it('has at least the services the backbone needs', () => {
    expect(services).toContain('gateway');
    expect(services).toContain('partner-registry');
  });

  it('lists every service workload in the kustomization, and every listed file exists', () => {
    for (const svc of services) expect(resources).toContain(`${svc}.yaml`);
    for (const r of resources) expect(existsSync(join(REPO_ROOT, 'deploy/k8s', r)), r).toBe(true);
    expect(kustomization.namespace).toBe('partner-platform');
  });

  it.each(objects.map((o) => [`${o.file}: ${o.doc.kind} ${o.doc.metadata?.name}`, o.doc] as const))(
    '%s is valid against its OpenAPI schema',
    (_label, doc) => {
      const m = model(doc);
      expect(m, `no schema registered for ${doc.apiVersion}/${doc.kind}`).toBeDefined();
      expect(() => m?.validate()).not.toThrow();
    },
  );

  it('rejects what the API server would (the validation can fail)', () => {
    const d = one('deploy/k8s/gateway.yaml', 'Deployment', Deployment); // a fresh parse: changing it changes no other test's copy
    const port = d.spec!.template.spec!.containers[0]!.ports![0]!;
    (port as { containerPort: unknown }).containerPort = '8080';
    expect(() => d.validate()).toThrow(/containerPort must be integer/);
    const so = one('deploy/k8s/webhook-dispatcher-autoscaling.yaml', 'ScaledObject', ScaledObject);
    (so.spec as { minReplicaCount: unknown }).minReplicaCount = 'two';
    expect(() => so.validate()).toThrow(/minReplicaCount must be integer/);
  });

  it.each(services)('%s: Deployment with startup, readiness and liveness probes on its port, a Service and a PDB that select it', (svc) => {
    const file = `deploy/k8s/${svc}.yaml`;
    const deployment = one(file, 'Deployment', Deployment);
    expect(deployment.metadata?.name).toBe(svc);
    const pod = deployment.spec!.template;
    const container = pod.spec!.containers[0]!;
    const port = container.ports?.[0]?.containerPort;
    expect(port).toBe(svc === 'gateway' ? 8080 : 9100);
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port });
    expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port });
    expect(container.env?.find((e) => e.name === 'SERVICE')?.value).toBe(svc);
    expect(container.image).toContain(`/${svc}:`);
    expect(pod.spec!.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(20);
    // Non-root, as the image runs (USER 1000:1000), on a read-only root filesystem.
    expect(pod.spec!.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(String(container.resources?.requests?.memory)).toMatch(/^\d+Mi$/);

    const labels = pod.metadata?.labels ?? {};
    const selects = (sel: Record<string, string> | undefined) => !!sel && Object.entries(sel).every(([k, v]) => labels[k] === v);
    expect(selects(deployment.spec!.selector.matchLabels)).toBe(true);
    const service = one(file, 'Service', Service);
    expect(selects(service.spec?.selector)).toBe(true);
    expect(service.spec?.ports?.[0]?.targetPort).toBe(port);
    const pdb = one(file, 'PodDisruptionBudget', PodDisruptionBudget);
    expect(selects(pdb.spec?.selector?.matchLabels)).toBe(true);
    expect(pdb.spec?.minAvailable).toBe(1);
    // A PDB of minAvailable 1 over a single replica would block every node drain (no replicas: KEDA keeps ≥ 2).
    expect(deployment.spec!.replicas ?? 2).toBeGreaterThan(1);
  });

  it("scales the dispatcher with KEDA on its durable consumer's lag, and leaves the replica count to KEDA", () => {
    const so = one('deploy/k8s/webhook-dispatcher-autoscaling.yaml', 'ScaledObject', ScaledObject);
    expect(so.spec?.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'webhook-dispatcher' });
    expect(so.spec?.minReplicaCount).toBeGreaterThanOrEqual(2);
    expect(so.spec?.maxReplicaCount).toBeGreaterThan(so.spec?.minReplicaCount ?? 0);
    const trigger = so.spec?.triggers[0];
    expect(trigger?.type).toBe('nats-jetstream');
    expect(trigger?.metadata?.stream).toBe(platformConfig().data?.STREAM_NAME);
    // The consumer KEDA watches is the one the dispatcher creates (its default durable name).
    expect(trigger?.metadata?.consumer).toBe(dispatcherConfigSchema.shape.WEBHOOK_CONSUMER.parse(undefined));
    expect(Number(trigger?.metadata?.lagThreshold)).toBeGreaterThan(0);
    expect(one('deploy/k8s/webhook-dispatcher.yaml', 'Deployment', Deployment).spec?.replicas).toBeUndefined();
  });

  it('runs R3 streams on a 3-node JetStream cluster (official NATS Helm chart values)', () => {
    expect(platformConfig().data?.STREAM_REPLICAS).toBe('3');
    const [values] = docs('deploy/k8s/nats-values.yaml') as [
      { config: { cluster: { enabled: boolean; replicas: number }; jetstream: { enabled: boolean }; monitor: { enabled: boolean } } },
    ];
    expect(values.config.cluster).toMatchObject({ enabled: true, replicas: 3 });
    expect(values.config.jetstream.enabled).toBe(true);
    expect(values.config.monitor.enabled).toBe(true); // KEDA reads consumer lag from the monitoring port
    const secret = one('deploy/k8s/config.yaml', 'Secret', Secret);
    for (const key of [
      'DATABASE_URL_TEMPLATE',
      'PLATFORM_ADMIN_API_KEY',
      'WEBHOOK_SECRET_KEYS',
      'ROLLBACK_SECRETS_KEY',
      'GITHUB_PRIVATE_KEY',
    ])
      expect(Object.keys(secret.stringData ?? {})).toContain(key);
  });

  it('has every service in the compose file, built from the shared Dockerfile with its SERVICE arg', () => {
    const [compose] = docs('infra/compose.yaml') as [
      { services: Record<string, { build?: { args?: Record<string, string>; dockerfile?: string } } | undefined> },
    ];
    for (const svc of services) {
      expect(compose?.services?.[svc]?.build?.args?.SERVICE, svc).toBe(svc);
      expect(compose?.services?.[svc]?.build?.dockerfile).toBe('deploy/docker/Dockerfile');
    }
    for (const dep of ['nats', 'postgres', 'redis']) expect(compose?.services?.[dep]).toBeDefined();
  });
});
