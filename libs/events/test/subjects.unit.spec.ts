import { NotFoundError } from '@pep/runtime';
import { describe, expect, it } from 'vitest';
import { aggregateSubject, externalSubject, InvalidSubjectTokenError } from '../src/index.ts';

describe('subjects', () => {
  it('builds aggregate and external subjects from valid tokens', () => {
    expect(aggregateSubject('platform', 'partner', 'prt_01jd8x6q3c9v2f5n7w0y4z1mbk')).toBe(
      'platform.agg.partner.prt_01jd8x6q3c9v2f5n7w0y4z1mbk',
    );
    expect(externalSubject('platform', undefined, 'lead.created')).toBe('platform.ext._.lead.created');
  });

  it('refuses an id that cannot be a subject token with a named 404 error, never a bare Error', () => {
    for (const bad of ['foo.bar', 'foo.>', '*', 'a b', 'a\r\nb', "1' OR '1'='1", 'a\u0000b', '']) {
      let thrown: unknown;
      try {
        aggregateSubject('platform', 'partner', bad);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, JSON.stringify(bad)).toBeInstanceOf(InvalidSubjectTokenError);
      expect(thrown).toBeInstanceOf(NotFoundError);
      expect((thrown as InvalidSubjectTokenError).toProblem()).toMatchObject({ status: 404, type: expect.stringMatching(/not-found$/) });
    }
    expect(() => externalSubject('platform', 'a.b', 'lead.created')).toThrow(InvalidSubjectTokenError);
  });
});
