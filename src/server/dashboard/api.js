// The JSON API: same-origin fetch with cookie auth (a 401 goes to /login), and errors as DOM.

import { h } from './dom.js';

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `HTTP ${status}`);
    this.status = status;
    this.error = error ?? {};
  }
}

/** `body` is sent as JSON, or as it is (a string) under `contentType` when one is given (a YAML plan). */
export async function api(method, path, body, { contentType = null } = {}) {
  const init = { method, headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    init.headers['content-type'] = contentType ?? 'application/json';
    init.body = contentType ? body : JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, { code: 'Network', message: 'Cannot reach the server' });
  }
  if (res.status === 401) {
    location.assign('/login');
    throw new ApiError(401, { code: 'Unauthorized', message: 'Signed out: sign in again' });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const error =
      data && typeof data === 'object' && data.error
        ? data.error
        : { code: `HTTP ${res.status}`, message: typeof data === 'string' && data ? data : res.statusText };
    throw new ApiError(res.status, error);
  }
  return data;
}

/** An error as DOM: validation problems list each field and why. */
export function errorContent(err, title) {
  if (!(err instanceof ApiError))
    return [h('p', { class: 'error-title' }, title ?? 'Error'), h('p', {}, String(err?.message ?? err))];
  const e = err.error;
  const issues =
    Array.isArray(e.issues) && e.issues.length
      ? e.issues
      : e.reason !== undefined
        ? [{ field: e.field, reason: e.reason }]
        : [];
  if (issues.length) {
    return [
      h('p', { class: 'error-title' }, title ?? `Rejected by the server (${err.status}${e.kind ? `, ${e.kind}` : ''})`),
      h(
        'ul',
        { class: 'error-list' },
        issues.map((issue) =>
          h(
            'li',
            {},
            issue.field ? [h('code', { class: 'error-field' }, issue.field), ': '] : null,
            issue.reason ?? '',
          ),
        ),
      ),
    ];
  }
  return [
    h('p', { class: 'error-title' }, title ?? `${e.code ?? 'Error'}${err.status ? ` (${err.status})` : ''}`),
    h('p', {}, e.message ?? String(err)),
  ];
}

export function errorBox(err, title) {
  return h('div', { class: 'error-box', role: 'alert' }, errorContent(err, title));
}
