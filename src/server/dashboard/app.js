/**
 * cloudops-exec dashboard: vanilla ES modules, no build step, no dependencies.
 *
 * Pages (hash routing): #/ executions, #/executions/<id>, #/approvals, #/approvals/<id>,
 * #/submit. Data comes from the JSON API (same-origin fetch, cookie auth) and one
 * WebSocket (/api/ws) carrying live events. Server data only ever reaches the DOM as text
 * (textContent / text nodes), never as HTML.
 *
 * This module is the entry point: it starts the clocks, loads the server's vocabulary
 * (statuses, risk levels, ...: the pages use it), then starts the shell, the router and the
 * live connection, in that order.
 */
import { api, errorBox } from './api.js';
import { useVocabulary } from './constants.js';
import { startClocks } from './dom.js';
import { route, routeIfChanged } from './router.js';
import { refreshApprovalCount, showSignedIn, startShell } from './shell.js';
import { live } from './socket.js';

async function start() {
  startClocks();
  try {
    useVocabulary(await api('GET', '/api/vocabulary'));
  } catch (err) {
    // Without the vocabulary no page can show a status; say so instead of half a page.
    document
      .getElementById('main')
      .replaceChildren(
        errorBox(err, 'The dashboard cannot start: the server did not send its vocabulary. Reload to try again.'),
      );
    return;
  }
  startShell();
  // Who is signed in: every decision is recorded under this principal, never a typed name.
  api('GET', '/api/whoami').then(showSignedIn, () => {});
  window.addEventListener('hashchange', routeIfChanged);
  route();
  refreshApprovalCount();
  live.start();
}

void start();
