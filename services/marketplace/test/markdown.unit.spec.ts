import { describe, expect, it } from 'vitest';
import { renderDescription } from '../src/domain/listing/markdown.ts';

/** Every tag name and every attribute the rendered HTML carries, to assert nothing active gets through. */
const tags = (html: string) => [...html.matchAll(/<([a-z0-9]+)([^>]*)>/gi)].map((m) => ({ tag: m[1], attrs: m[2] ?? '' }));

describe('listing description Markdown → safe HTML', () => {
  it('renders Markdown, and links carry rel="nofollow noopener noreferrer"', () => {
    const html = renderDescription('# Sync\n\n**Fast** and [documented](https://docs.example.com/a?b=1).\n\n- one\n- two');
    expect(html).toContain('<h1>Sync</h1>');
    expect(html).toContain('<strong>Fast</strong>');
    expect(html).toContain('<a href="https://docs.example.com/a?b=1" rel="nofollow noopener noreferrer" target="_blank">documented</a>');
    expect(html).toContain('<li>one</li>');
    expect(renderDescription('[mail us](mailto:help@example.com)')).toContain('href="mailto:help@example.com"');
  });

  const payloads: [string, string][] = [
    ['a script tag', '<script>alert(1)</script>'],
    ['an img with onerror', '<img src=x onerror=alert(1)>'],
    ['an svg with onload', '<svg onload=alert(1)></svg>'],
    ['an iframe', '<iframe src="https://evil.example"></iframe>'],
    ['a javascript: link', '[click](javascript:alert(1))'],
    ['a javascript: link in capitals', '[click](JaVaScRiPt:alert(1))'],
    ['an entity-encoded javascript: link', '[click](&#106;avascript:alert(1))'],
    ['a javascript: autolink', '<javascript:alert(1)>'],
    ['a vbscript: link', '[click](vbscript:msgbox(1))'],
    ['a data: link', '[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)'],
    ['a data: image', '![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)'],
    ['a javascript: image', '![x](javascript:alert(1))'],
    ['a mailto: image', '![x](mailto:a@example.com)'],
    ['a relative link', '[home](/admin)'],
    ['an inline event handler through a title', '[x](https://ok.example "a\\" onmouseover=\\"alert(1)")'],
  ];
  it.each(payloads)('%s is not active in the output', (_, payload) => {
    const html = renderDescription(`Before ${payload} after`);
    for (const { tag, attrs } of tags(html)) {
      expect(['p', 'a', 'img', 'em', 'strong', 'code']).toContain(tag);
      // attribute names outside quoted values (a title's escaped `&quot; onmouseover=` is text inside one)
      expect(attrs.replace(/"[^"]*"/g, '""')).not.toMatch(/\son[a-z]+\s*=/i);
      expect(attrs).not.toMatch(/(href|src)="(?!https?:|mailto:)/i);
    }
    expect(html).not.toMatch(/<(script|iframe|svg)/i);
    expect(html).not.toMatch(/(href|src)="\s*(javascript|vbscript|data):/i);
  });

  it('an http(s) image is kept, lazy and without a referrer', () => {
    expect(renderDescription('![shot](https://cdn.example.com/1.png)')).toContain(
      '<img src="https://cdn.example.com/1.png" alt="shot" loading="lazy" referrerpolicy="no-referrer">',
    );
  });

  it('raw HTML shows as text', () => {
    expect(renderDescription('<b>bold</b>')).toBe('<p>&lt;b&gt;bold&lt;/b&gt;</p>\n');
    expect(renderDescription(null)).toBe('');
  });
});
