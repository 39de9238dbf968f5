import { defineConfig } from 'vitest/config';

// One configuration, three tiers chosen by file name (CONVENTIONS.md, Tests 1).
const shared = {
  setupFiles: ['./libs/testing/src/setup.ts'],
};

export default defineConfig({
  // NestJS uses legacy (experimental) decorators; Vite 8 transforms TypeScript with oxc.
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  test: {
    projects: [
      {
        extends: true,
        test: { ...shared, name: 'unit', include: ['**/*.unit.spec.ts'], exclude: ['**/node_modules/**', '.tools/**'] },
      },
      {
        extends: true,
        test: {
          ...shared,
          name: 'int',
          include: ['**/*.int.spec.ts'],
          exclude: ['**/node_modules/**', '.tools/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          ...shared,
          name: 'e2e',
          include: ['**/*.e2e.spec.ts'],
          exclude: ['**/node_modules/**', '.tools/**'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        // Fault tests (issue 10): each starts engines of its own (nats-server, a JetStream cluster, PostgreSQL)
        // and a whole stack on them, then kills or stops an engine or a service mid-load.
        extends: true,
        test: {
          ...shared,
          name: 'fault',
          include: ['**/*.fault.spec.ts'],
          exclude: ['**/node_modules/**', '.tools/**'],
          testTimeout: 240_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
