// The page around the routes: live-connection indicator, pending-approvals count in the nav, toast, skip link.

import { api } from './api.js';
import { bus } from './bus.js';
import { h } from './dom.js';
import { live } from './socket.js';
import { debounce } from './util.js';

const main = document.getElementById('main');
const connectionEl = document.querySelector('[data-testid="connection"]');
const connectionLabel = document.getElementById('connection-label');
const navCount = document.getElementById('nav-approval-count');

export const approvalsState = { count: null };
export const refreshApprovalCount = debounce(async () => {
  try {
    const data = await api('GET', '/api/approvals?state=pending');
    approvalsState.count = data.approvals.length;
  } catch {
    return;
  }
  navCount.hidden = !approvalsState.count;
  navCount.textContent = String(approvalsState.count ?? '');
  navCount.setAttribute('aria-label', `${approvalsState.count} pending`);
  bus.emit('approval-count', approvalsState.count);
}, 150);

let toastTimer = null;
let toast = null;

function showToast(text) {
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (toast.hidden = true), 6000);
}

/** Shows the signed-in principal in the header (from GET /api/whoami). */
export function showSignedIn(principal) {
  const el = document.querySelector('[data-testid="signed-in"]');
  if (!el || !principal?.name) return;
  el.textContent = `${principal.name} · ${principal.role}`;
  el.hidden = false;
}

/** Wires the shell to the bus and the live connection; before the first route. */
export function startShell() {
  bus.on('connection', (state) => {
    connectionEl.dataset.state = state === 'open' ? 'open' : 'closed';
    connectionEl.classList.toggle('connecting', state === 'connecting');
    connectionLabel.textContent =
      state === 'open' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Offline — reconnecting';
    connectionEl.title =
      state === 'open' ? 'Live updates connected' : 'Live updates disconnected; retrying with backoff';
  });

  bus.on('approval', () => refreshApprovalCount());
  live.subscribe('*', {
    event: (event) => bus.emit('event', event),
    subscribed: () => {
      refreshApprovalCount();
      bus.emit('resync');
    },
  });

  toast = h('div', { class: 'toast', role: 'status', 'aria-live': 'polite', hidden: true });
  document.body.append(toast);
  bus.on('live-error', (error) => showToast(`Live updates: ${error.message ?? error.code ?? 'error'}`));

  document.getElementById('skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    main.focus();
  });
}
