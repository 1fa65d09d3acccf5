/** The page a browser gets instead of the dashboard until it signs in with a principal's token. */
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Sent with the sign-in pages: never framed (a framed confirm button could be clicked by a
 * trick), no scripts, forms only to this server, and no Referer carrying a token onward.
 */
export const LOGIN_PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const HEAD = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>cloudops-exec: sign in</title>
<style>body{font:15px system-ui,sans-serif;background:#0f1419;color:#e6e6e6;display:grid;place-items:center;min-height:100vh;margin:0}
form{background:#1a2029;padding:2rem;border-radius:8px;min-width:22rem}input{width:100%;box-sizing:border-box;padding:.5rem;margin:.5rem 0 1rem;background:#0f1419;color:inherit;border:1px solid #3a4454;border-radius:4px}
button{padding:.5rem 1rem;background:#2f6fde;color:#fff;border:0;border-radius:4px;cursor:pointer}p{color:#f0a35e}</style></head>`;

export function loginPage(message: string): string {
  return `${HEAD}
<body><form method="get" action="/login"><h1>cloudops-exec</h1><p role="alert">${escapeHtml(message)}</p>
<label for="token">Your API token (from <code>cloudops-exec auth add</code>; the server's own, printed by <code>cloudops-exec serve</code>, signs in as admin)</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button></form></body></html>`;
}

/**
 * A sign-in link opened from another site: whoever made the link chose the principal, so the
 * browser is not signed in until the person confirms, on this server's own page, who as.
 */
export function confirmSignInPage(principal: { name: string; role: string }, token: string, next: string): string {
  const who = `${escapeHtml(principal.name)} (${escapeHtml(principal.role)})`;
  return `${HEAD}
<body><form method="get" action="/login"><h1>cloudops-exec</h1>
<p role="alert">A link from another site asks to sign this browser in as <strong>${who}</strong>. Everything you do next is recorded under that name. Continue only if this is your own token.</p>
<input type="hidden" name="token" value="${escapeHtml(token)}"><input type="hidden" name="next" value="${escapeHtml(next)}">
<button type="submit" data-testid="confirm-sign-in">Sign in as ${escapeHtml(principal.name)}</button></form></body></html>`;
}
