import { describeScope } from '@pep/contracts';
import { escapeHtml } from './provider.ts';

/** What the consent page shows about the application asking for access. */
export interface ConsentApp {
  clientId: string;
  name: string;
  publisher: string;
  logoUrl: string | null;
}

/** The consent and sign-in page's HTML headers: no framing, no scripts, nothing cached. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'none'; base-uri 'none'",
  // Not `no-referrer`: with it a browser sends `Origin: null` on the page's own form posts, which the Origin check refuses.
  'referrer-policy': 'same-origin',
};

const STYLE = `body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1b1f24;line-height:1.5}
main{max-width:32rem;margin:2rem auto;background:#fff;padding:1.5rem;border-radius:12px;box-shadow:0 1px 3px #0002}
.app{display:flex;gap:1rem;align-items:center}.logo{width:56px;height:56px;border-radius:12px;background:#1d4ed8;color:#fff;
display:flex;align-items:center;justify-content:center;font-size:1.6rem;font-weight:700;flex:none}h1{font-size:1.25rem;margin:0}
ul{padding-left:1.2rem}code{font-size:.85em;color:#475467}label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #667085;border-radius:8px;font-size:1rem}
.actions{display:flex;gap:.75rem;margin-top:1.25rem;flex-wrap:wrap}button{padding:.65rem 1.2rem;border-radius:8px;font-size:1rem;
border:1px solid #1d4ed8;cursor:pointer}button.primary{background:#1d4ed8;color:#fff}button.secondary{background:#fff;color:#1d4ed8}
button:focus-visible,input:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}.alert{background:#fef2f2;color:#991b1b;
padding:.5rem .75rem;border-radius:8px}.muted{color:#475467;font-size:.9rem}`;

export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

function header(app: ConsentApp, heading: string): string {
  const logo = app.logoUrl
    ? `<img class="logo" src="${escapeHtml(app.logoUrl)}" alt="">`
    : `<span class="logo" aria-hidden="true">${escapeHtml(app.name.slice(0, 1).toUpperCase() || '?')}</span>`;
  return `<div class="app">${logo}<div><h1>${escapeHtml(heading)}</h1><p class="muted">Published by <strong>${escapeHtml(app.publisher)}</strong> · client <code>${escapeHtml(app.clientId)}</code></p></div></div>`;
}

const alert = (error: string | undefined) => (error ? `<p class="alert" role="alert">${escapeHtml(error)}</p>` : '');

/** Not signed in: the portal's sign-in (email and password), on this page so the flow stays in one place. */
export function signInPage(uid: string, app: ConsentApp, error?: string): string {
  return page(
    `Sign in to authorize ${app.name}`,
    `${header(app, `Sign in to let ${app.name} access your partner account`)}${alert(error)}
<form method="post" action="/oauth/interaction/${escapeHtml(uid)}">
<input type="hidden" name="decision" value="sign-in">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<div class="actions"><button class="primary" type="submit">Sign in</button></div></form>`,
  );
}

/** Signed in: each requested scope in words, and approve or deny. */
export function consentPage(opts: {
  uid: string;
  app: ConsentApp;
  user: string;
  granted: string[];
  refused: string[];
  csrfToken: string;
  error?: string;
}): string {
  const { app } = opts;
  const item = (s: string) => `<li>${escapeHtml(describeScope(s))} <code>${escapeHtml(s)}</code></li>`;
  const refused = opts.refused.length
    ? `<p class="muted">Your role does not allow these, so they will not be granted:</p><ul>${opts.refused.map(item).join('')}</ul>`
    : '';
  return page(
    `Authorize ${app.name}`,
    `${header(app, `${app.name} wants access to your partner account`)}${alert(opts.error)}
<p>Signed in as <strong>${escapeHtml(opts.user)}</strong>. If you approve, ${escapeHtml(app.name)} will be able to:</p>
<ul>${opts.granted.length ? opts.granted.map(item).join('') : '<li>Nothing beyond knowing your partner account</li>'}</ul>${refused}
<form method="post" action="/oauth/interaction/${escapeHtml(opts.uid)}">
<input type="hidden" name="csrf_token" value="${escapeHtml(opts.csrfToken)}">
<div class="actions"><button class="primary" type="submit" name="decision" value="approve">Approve</button>
<button class="secondary" type="submit" name="decision" value="deny">Deny</button></div></form>`,
  );
}
