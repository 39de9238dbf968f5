import type { PlatformEvent } from '@pep/contracts';
import { newId } from '@pep/runtime';

export const envelope = (type: string, data: unknown, partnerid?: string, id = newId('evt')): PlatformEvent => ({
  specversion: '1.0',
  id,
  source: 'urn:test',
  type,
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  schemaversion: 1,
  data,
  ...(partnerid ? { partnerid } : {}),
});

/** The stream oracle every service's tests fold. */
export { readAll } from '@pep/testing';
