import { describe, expect, it } from 'vitest';
import { scopeAllows } from '../src/auth/scopes.ts';

describe('scopeAllows', () => {
  it('lets admin through every scope, and only admin through `admin`', () => {
    expect(scopeAllows(['admin'], 'write:partners')).toBe(true);
    expect(scopeAllows(['admin'], 'admin')).toBe(true);
    expect(scopeAllows(['read:*', 'write:*', 'manage:*'], 'admin')).toBe(false);
    expect(scopeAllows(['*'], 'admin')).toBe(false);
  });

  it('matches exact scopes and nothing else', () => {
    expect(scopeAllows(['read:partners'], 'read:partners')).toBe(true);
    expect(scopeAllows(['read:partners'], 'read:webhooks')).toBe(false);
    expect(scopeAllows(['read:partners'], 'write:partners')).toBe(false);
    expect(scopeAllows([], 'read:partners')).toBe(false);
  });

  it('expands a resource wildcard', () => {
    expect(scopeAllows(['read:*'], 'read:partners')).toBe(true);
    expect(scopeAllows(['read:*'], 'read:partners:keys')).toBe(true);
    expect(scopeAllows(['read:*'], 'write:partners')).toBe(false);
    expect(scopeAllows(['read:*'], 'read')).toBe(false);
  });

  it('grants nothing for scopes outside the vocabulary', () => {
    expect(scopeAllows(['*:partners'], 'write:partners')).toBe(false);
    expect(scopeAllows(['*'], 'write:events')).toBe(false);
    expect(scopeAllows(['partners'], 'read:partners')).toBe(false);
  });

  it('nests verbs: manage grants write grants read, never the other way', () => {
    expect(scopeAllows(['write:partners'], 'read:partners')).toBe(true);
    expect(scopeAllows(['manage:partners'], 'write:partners')).toBe(true);
    expect(scopeAllows(['manage:*'], 'read:events')).toBe(true);
    expect(scopeAllows(['read:partners'], 'manage:partners')).toBe(false);
    expect(scopeAllows(['write:partners'], 'manage:partners')).toBe(false);
  });

  it('treats a route without a scope as open to any authenticated credential', () => {
    expect(scopeAllows([], undefined)).toBe(true);
    expect(scopeAllows([], '')).toBe(true);
  });
});
