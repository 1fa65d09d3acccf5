// Hash routing: each route change disposes the previous page's scope and renders the new page into <main>.

import { errorBox } from './api.js';
import { makeScope } from './bus.js';
import { h } from './dom.js';
import { pageApproval } from './page-approval.js';
import { pageApprovals } from './page-approvals.js';
import { pageExecution } from './page-execution.js';
import { pageExecutions } from './page-executions.js';
import { pageSubmit } from './page-submit.js';

const main = document.getElementById('main');

let currentScope = null;
let firstRoute = true;
/** The hash the current page was drawn for. */
let drawnHash = null;

function setNav(section) {
  for (const link of document.querySelectorAll('.nav a')) {
    if (link.dataset.route === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

/**
 * For the `hashchange` listener: a hash set while the dashboard was starting can be drawn by the
 * first route() before its hashchange event arrives; drawing it twice would load the page twice.
 */
export function routeIfChanged() {
  if (location.hash !== drawnHash) route();
}

export function route() {
  const raw = location.hash.slice(1) || '/';
  if (!raw.startsWith('/')) return; // an in-page anchor, not a route
  drawnHash = location.hash;
  const path = raw.split('?')[0];
  currentScope?.dispose();
  const scope = (currentScope = makeScope());
  main.replaceChildren();
  let m;
  try {
    if (path === '/' || path === '/executions' || path === '/executions/') {
      setNav('executions');
      pageExecutions(main, scope);
    } else if ((m = /^\/executions\/([^/]+)\/?$/.exec(path))) {
      setNav('executions');
      pageExecution(main, scope, decodeURIComponent(m[1]));
    } else if (/^\/approvals\/?$/.test(path)) {
      setNav('approvals');
      pageApprovals(main, scope);
    } else if ((m = /^\/approvals\/([^/]+)\/?$/.exec(path))) {
      setNav('approvals');
      pageApproval(main, scope, decodeURIComponent(m[1]));
    } else if (/^\/submit\/?$/.test(path)) {
      setNav('submit');
      pageSubmit(main, scope);
    } else {
      setNav(null);
      document.title = 'Not found · cloudops-exec';
      main.append(
        h('h1', {}, 'Page not found'),
        h('p', {}, 'Nothing lives at ', h('code', {}, raw), '. ', h('a', { href: '#/' }, 'Back to executions')),
      );
    }
  } catch (err) {
    main.replaceChildren(errorBox(err, 'This page failed to load'));
  }
  if (!firstRoute) {
    window.scrollTo(0, 0);
    main.focus({ preventScroll: true });
  }
  firstRoute = false;
}
