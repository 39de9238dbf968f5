import type { Principal } from '@pep/contracts';
import { CloudEvent, HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { decodeCeHeaderValue, decodeIngestRequest, IngestBodyError } from '../src/events/cloudevents-http.ts';
import { prepareEvents } from '../src/events/prepare-events.ts';

const admin: Principal = { kind: 'admin', scopes: ['admin'], credential_id: 'admin_env' };
const now = new Date('2026-01-01T12:00:00.000Z');
const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const json = (text: string): unknown => JSON.parse(text);
const sdkEvent = (extra: Record<string, unknown> = {}) =>
  new CloudEvent({
    id: 'evt_sdk_1',
    source: 'crm.test',
    type: 'lead.created',
    subject: 'lead 42',
    partnerid: 'prt_acme',
    schemaversion: 1,
    data: { lead_id: 'l_42', email: 'lead42@example.com' },
    ...extra,
  });

/** Decodes a message the way the route does, then validates it as the route does. */
function ingest(headers: Record<string, unknown>, body: string | undefined) {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v === undefined ? undefined : String(v)]));
  const decoded = decodeIngestRequest(lower, body, json);
  return {
    decoded,
    prepared: prepareEvents(decoded.body, { principal: admin, subjectPrefix: 'p', traceparent: TP, now, mode: decoded.mode }),
  };
}

function refusal(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    if (err instanceof IngestBodyError) return err.toProblem();
    throw err;
  }
  throw new Error('expected the request to be refused');
}

describe('CloudEvents content modes', () => {
  it('reads what the SDK serializes in binary mode as the same event as in structured mode', () => {
    const event = sdkEvent();
    const bin = HTTP.binary(event);
    const str = HTTP.structured(event);
    const b = ingest(bin.headers, bin.body as string);
    const s = ingest(str.headers, str.body as string);
    expect(b.decoded.mode).toBe('binary');
    expect(s.decoded.mode).toBe('structured');
    expect(b.prepared.ok && s.prepared.ok).toBe(true);
    if (!b.prepared.ok || !s.prepared.ok) return;
    const fromBinary = b.prepared.events[0]!;
    expect(fromBinary.event).toMatchObject({
      specversion: '1.0',
      id: 'evt_sdk_1',
      source: 'crm.test',
      type: 'lead.created',
      subject: 'lead 42',
      partnerid: 'prt_acme',
      schemaversion: 1,
      datacontenttype: 'application/json',
      time: event.time,
      data: { lead_id: 'l_42', email: 'lead42@example.com' },
    });
    expect(fromBinary.dedupeKey).toBe('prt_acme:evt_sdk_1');
    expect(fromBinary.subject).toBe('p.ext.prt_acme.lead.created');
    expect(s.prepared.events[0]!.event).toEqual(fromBinary.event);
  });

  it('reads a batch, and keeps plain application/json (one event or an array)', () => {
    const events = [sdkEvent({ id: 'a' }), sdkEvent({ id: 'b' })];
    const batch = ingest({ 'content-type': 'application/cloudevents-batch+json' }, JSON.stringify(events));
    expect(batch.decoded.mode).toBe('batch');
    expect(batch.prepared.ok && batch.prepared.events.map((e) => e.event.id)).toEqual(['a', 'b']);
    const plain = ingest({ 'content-type': 'application/json; charset=utf-8' }, JSON.stringify(events));
    expect(plain.decoded.mode).toBe('json');
    expect(plain.prepared.ok && plain.prepared.events).toHaveLength(2);
  });

  it('takes datacontenttype "application/json; charset=utf-8" as application/json and refuses other types naming it', () => {
    const event = { ...JSON.parse(HTTP.structured(sdkEvent()).body as string), datacontenttype: 'application/json; charset=utf-8' };
    const ok = ingest({ 'content-type': 'application/cloudevents+json' }, JSON.stringify(event));
    expect(ok.prepared.ok && ok.prepared.events[0]!.event.datacontenttype).toBe('application/json');
    const xml = ingest(
      { 'content-type': 'application/cloudevents+json' },
      JSON.stringify({ ...event, datacontenttype: 'application/xml' }),
    );
    expect(!xml.prepared.ok && xml.prepared.problem.errors).toEqual([expect.objectContaining({ path: 'datacontenttype' })]);
  });

  it('refuses a structured body holding an array and a batch holding an object, naming the body', () => {
    const one = ingest({ 'content-type': 'application/cloudevents+json' }, JSON.stringify([sdkEvent()]));
    expect(!one.prepared.ok && one.prepared.problem).toMatchObject({ status: 422, errors: [{ path: '' }] });
    const many = ingest({ 'content-type': 'application/cloudevents-batch+json' }, JSON.stringify(sdkEvent()));
    expect(!many.prepared.ok && many.prepared.problem).toMatchObject({ status: 422, errors: [{ path: '' }] });
  });

  it('names the missing or wrong attribute and its header in binary mode', () => {
    const { headers, body } = HTTP.binary(sdkEvent());
    const without = (name: string) => Object.fromEntries(Object.entries(headers).filter(([k]) => k !== name));
    const noId = ingest(without('ce-id'), body as string);
    expect(!noId.prepared.ok && noId.prepared.problem.errors).toEqual([
      expect.objectContaining({ index: 0, path: 'id', message: expect.stringContaining('ce-id') }),
    ]);
    const noSpec = ingest(without('ce-specversion'), body as string);
    expect(!noSpec.prepared.ok && noSpec.prepared.problem.errors).toEqual([
      expect.objectContaining({ path: 'specversion', message: expect.stringContaining('ce-specversion') }),
    ]);
    const v03 = ingest({ ...headers, 'ce-specversion': '0.3' }, body as string);
    expect(!v03.prepared.ok && v03.prepared.problem.errors).toEqual([expect.objectContaining({ path: 'specversion' })]);
    const version = ingest({ ...headers, 'ce-schemaversion': 'two' }, body as string);
    expect(!version.prepared.ok && version.prepared.problem.errors).toEqual([expect.objectContaining({ path: 'schemaversion' })]);
    const badType = prepareEvents(
      { specversion: '1.0', id: 'e', source: 's', type: 'lead.created', datacontenttype: 'text/csv', data: {} },
      { principal: admin, subjectPrefix: 'p', traceparent: TP, now, mode: 'binary' },
    );
    expect(!badType.ok && badType.problem.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'datacontenttype', message: expect.stringContaining('(header content-type)') }),
      ]),
    );
    const data = ingest(headers, JSON.stringify({ lead_id: 'l', email: 'nope' }));
    expect(!data.prepared.ok && data.prepared.problem.errors).toEqual([expect.objectContaining({ index: 0, path: 'data.email' })]);
    expect(!data.prepared.ok && data.prepared.problem.errors?.[0]?.message).not.toContain('header');
  });

  it('refuses unreadable binary input with a 4xx naming the attribute', () => {
    const { headers } = HTTP.binary(sdkEvent());
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)]));
    expect(refusal(() => decodeIngestRequest(lower, '{"lead_id": ', json))).toMatchObject({
      status: 400,
      errors: [{ path: 'data' }],
    });
    expect(refusal(() => decodeIngestRequest({ ...lower, 'content-type': 'text/plain' }, 'hello', json))).toMatchObject({
      status: 415,
      errors: [{ path: 'datacontenttype' }],
    });
    expect(refusal(() => decodeIngestRequest({ ...lower, 'content-type': 'application/json; charset=latin1' }, '{}', json))).toMatchObject({
      status: 415,
    });
    const { 'content-type': _ct, ...noType } = lower;
    expect(refusal(() => decodeIngestRequest(noType, '{}', json))).toMatchObject({ status: 415, errors: [{ path: 'datacontenttype' }] });
    expect(refusal(() => decodeIngestRequest({ ...lower, 'ce-source': 'crm%FF' }, '{}', json))).toMatchObject({
      status: 400,
      errors: [{ path: 'source' }],
    });
    // Not a CloudEvents request at all: the media type is refused as before.
    expect(refusal(() => decodeIngestRequest({ 'content-type': 'text/plain' }, 'hello', json))).toMatchObject({ status: 415 });
    expect(refusal(() => decodeIngestRequest({ 'content-type': 'application/cloudevents+json' }, '', json))).toMatchObject({
      status: 400,
      title: 'The body is empty',
    });
  });

  it('percent-decodes header values as UTF-8 and leaves a lone % alone', () => {
    expect(decodeCeHeaderValue('lead%2042')).toBe('lead 42');
    expect(decodeCeHeaderValue('Z%C3%BCrich%20%E2%82%AC')).toBe('Zürich €');
    expect(decodeCeHeaderValue('50% off')).toBe('50% off');
    expect(decodeCeHeaderValue('%C3')).toBeUndefined();
    expect(decodeCeHeaderValue('plain')).toBe('plain');
  });
});
