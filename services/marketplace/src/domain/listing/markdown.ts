import MarkdownIt from 'markdown-it';

/**
 * A listing's long description (Markdown, as its partner wrote it) rendered to HTML that is safe to put in a page:
 * - raw HTML is not rendered (`html: false`): `<script>`, `<img onerror=…>` come out as text;
 * - links and images only with `http:`, `https:` (and links with `mailto:`): `javascript:`, `data:`, `vbscript:`,
 *   `file:` and relative URLs are refused, so `[x](javascript:…)` stays plain text;
 * - every link carries `rel="nofollow noopener noreferrer"` and opens in a new tab.
 * Pure and deterministic: the catalog renders it when it applies an event, so a rebuild gives the same HTML.
 */
const LINK = /^(https?:\/\/|mailto:)/i;
const IMAGE = /^https?:\/\//i;

const md = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: false });

// validateLink sees the destination after entity decoding and normalisation, so `&#106;avascript:` is caught too.
// Images are checked again at render time (below): an image may only point at http(s), never `mailto:`.
md.validateLink = (url: string) => LINK.test(url.trim());

const defaultLinkOpen = md.renderer.rules.link_open;
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const token = tokens[idx];
  if (token) {
    token.attrSet('rel', 'nofollow noopener noreferrer');
    token.attrSet('target', '_blank');
  }
  return defaultLinkOpen ? defaultLinkOpen(tokens, idx, options, env, self) : self.renderToken(tokens, idx, options);
};

const defaultImage = md.renderer.rules.image;
md.renderer.rules.image = (tokens, idx, options, env, self) => {
  const token = tokens[idx];
  const src = String(token?.attrGet('src') ?? '');
  // not an http(s) image: shown as its alt text
  if (!token || !IMAGE.test(src)) return md.utils.escapeHtml(token?.content ?? '');
  token.attrSet('loading', 'lazy');
  token.attrSet('referrerpolicy', 'no-referrer');
  return defaultImage ? defaultImage(tokens, idx, options, env, self) : self.renderToken(tokens, idx, options);
};

export function renderDescription(markdown: string | null | undefined): string {
  if (!markdown) return '';
  return md.render(markdown);
}
