import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { baseConfigSchema, ConfigError, configConflicts, loadConfig } from '../src/index.ts';

// The stream's subject settings as libs/events declares them (a plain string, dots allowed).
const withStream = baseConfigSchema.extend({ SUBJECT_PREFIX: z.string().default('platform') });

describe('loadConfig refuses settings that cannot work together', () => {
  it('refuses RPC_PREFIX equal to SUBJECT_PREFIX, naming both variables', () => {
    const load = () => loadConfig(baseConfigSchema, { SUBJECT_PREFIX: 'platform', RPC_PREFIX: 'platform' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/RPC_PREFIX, SUBJECT_PREFIX: both are "platform"; the stream \(platform\.>\) would capture every service request/);
  });

  it('refuses a SUBJECT_PREFIX whose first token is the RPC_PREFIX (the stream would capture rpc.<service>.…)', () => {
    expect(() => loadConfig(withStream, { SUBJECT_PREFIX: 'rpc.events', RPC_PREFIX: 'rpc' })).toThrow(
      /RPC_PREFIX, SUBJECT_PREFIX: "rpc" and "rpc\.events" overlap/,
    );
    expect(configConflicts({ SUBJECT_PREFIX: 'rpc', RPC_PREFIX: 'rpc.x' })).toHaveLength(1);
  });

  it('accepts prefixes that only share characters, not tokens, and the defaults', () => {
    expect(loadConfig(baseConfigSchema, {})).toMatchObject({ SUBJECT_PREFIX: 'platform', RPC_PREFIX: 'rpc' });
    expect(loadConfig(withStream, { SUBJECT_PREFIX: 'platform', RPC_PREFIX: 'platform_rpc' }).RPC_PREFIX).toBe('platform_rpc');
    expect(configConflicts({ SUBJECT_PREFIX: 'rpcx.events', RPC_PREFIX: 'rpc' })).toEqual([]);
  });

  it('reports a conflict only after each variable parsed on its own (a bad value is named first)', () => {
    expect(() => loadConfig(baseConfigSchema, { SUBJECT_PREFIX: 'Bad Prefix', RPC_PREFIX: 'Bad Prefix' })).toThrow(
      /SUBJECT_PREFIX: .*\n.*RPC_PREFIX: /s,
    );
  });

  it('checks only schemas that have both variables', () => {
    expect(loadConfig(z.object({ RPC_PREFIX: z.string() }), { RPC_PREFIX: 'platform', SUBJECT_PREFIX: 'platform' })).toEqual({
      RPC_PREFIX: 'platform',
    });
  });
});
