import { CreatePartnerBody, PageQuerySchema } from '@pep/contracts';
import { NotFoundError, ValidationError } from '@pep/runtime';
import { okFile } from '@pep/service';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { replyToHttp, validateInput } from '../src/routing/forward.ts';
import { isRpcReply } from '../src/routing/rpc-client.ts';

const route = { params: z.object({ id: z.string().min(3) }), query: PageQuerySchema, body: CreatePartnerBody };

describe('validateInput', () => {
  it('coerces query strings and applies defaults', () => {
    const r = validateInput(route, {
      params: { id: 'prt_1' },
      query: { limit: '5' },
      body: { name: 'Acme', type: 'technology', contact_email: 'a@acme.test' },
    });
    expect(r.query).toEqual({ limit: 5 });
    expect(r.body).toMatchObject({ tier: 'standard' });
  });

  it('answers a path that names no possible resource (a malformed id) 404, like an unknown id', () => {
    for (const id of ['x', 'a\u0000bc']) {
      expect(() =>
        validateInput(route, { params: { id }, query: {}, body: { name: 'Acme', type: 'technology', contact_email: 'a@acme.test' } }),
      ).toThrow(NotFoundError);
    }
  });

  it('refuses a NUL or a lone surrogate anywhere in the query or the body, naming where (defence in depth)', () => {
    try {
      validateInput(
        { query: PageQuerySchema.passthrough(), body: z.unknown() },
        { params: {}, query: { other: 'a\u0000' }, body: { deep: [{ 'k\ud800': 1 }, 'fine', 'x\udc00'] } },
      );
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).errors).toEqual([
        expect.objectContaining({ path: 'other', in: 'query' }),
        expect.objectContaining({ path: 'deep.0.k\ud800', in: 'body' }),
        expect.objectContaining({ path: 'deep.2', in: 'body' }),
      ]);
    }
  });

  it('reports every invalid field of query and body at once, naming each', () => {
    try {
      validateInput(route, {
        params: { id: 'prt_1' },
        query: { limit: 'many' },
        body: { name: 'Acme', type: 'nope', contact_email: 'a@acme.test' },
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      const errors = (err as ValidationError).errors;
      expect(errors).toContainEqual(expect.objectContaining({ path: 'limit', in: 'query' }));
      expect(errors).toContainEqual(expect.objectContaining({ path: 'type', in: 'body' }));
    }
  });

  it('says a missing body is required', () => {
    expect(() => validateInput({ body: CreatePartnerBody }, { params: {}, query: {}, body: undefined })).toThrow(/body is required/);
  });
});

describe('replyToHttp', () => {
  it('maps a success reply to its status, JSON body and lower-cased headers', () => {
    expect(replyToHttp({ ok: true, status: 201, body: { id: 'x' }, headers: { Location: '/v1/x' } })).toEqual({
      status: 201,
      headers: { 'content-type': 'application/json; charset=utf-8', location: '/v1/x' },
      body: '{"id":"x"}',
    });
    expect(replyToHttp({ ok: true, status: 204, body: undefined }).body).toBeUndefined();
  });

  it('sends a file reply as its bytes with its content type, as an attachment when it has a filename', () => {
    const r = replyToHttp(okFile(Buffer.from('%PDF-1.7 x'), 'application/pdf', 'Rechnung März.pdf'));
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/pdf');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['content-disposition']).toBe(`attachment; filename="Rechnung_M_rz.pdf"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf`);
    expect(Buffer.isBuffer(r.body) && r.body.toString()).toBe('%PDF-1.7 x');
    expect(replyToHttp(okFile('a,b\n1,2\n', 'text/csv; charset=utf-8')).headers['content-disposition']).toBeUndefined();
  });

  it('maps a problem reply to problem+json with an absolute type URI', () => {
    const r = replyToHttp({ ok: false, problem: { type: 'illegal-transition', title: 'No', status: 409 } });
    expect(r.status).toBe(409);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(r.body as string).type).toBe('https://docs.partner-platform.dev/problems/illegal-transition');
  });

  it('refuses a file reply without its bytes or content type', () => {
    expect(isRpcReply({ ok: true, status: 200, body: null, file: { content_type: 'text/csv', base64: 'YQ==' } })).toBe(true);
    expect(isRpcReply({ ok: true, status: 200, body: null, file: { content_type: 'text/csv' } })).toBe(false);
    expect(isRpcReply({ ok: true, status: 200, body: null, file: 'x' })).toBe(false);
  });

  it('recognizes RpcReply shapes and refuses others', () => {
    expect(isRpcReply({ ok: true, status: 200, body: {} })).toBe(true);
    expect(isRpcReply({ ok: false, problem: { type: 't', title: 't', status: 404 } })).toBe(true);
    expect(isRpcReply({ ok: false, problem: { status: 200 } })).toBe(false);
    expect(isRpcReply({ status: 200 })).toBe(false);
    expect(isRpcReply(null)).toBe(false);
  });
});
