/**
 * cloudops-exec dashboard: vanilla ES modules, no build step, no dependencies.
 *
 * Pages (hash routing): #/ executions, #/executions/<id>, #/approvals, #/approvals/<id>,
 * #/submit. Data comes from the JSON API (same-origin fetch, cookie auth) and one
 * WebSocket (/api/ws) carrying live events. Server data only ever reaches the DOM as text
 * (textContent / text nodes), never as HTML.
 *
 * This module is the entry point: it starts the clocks, the shell, the router and the
 * live connection, in that order.
 */
import { startClocks } from './dom.js';
import { route } from './router.js';
import { refreshApprovalCount, startShell } from './shell.js';
import { live } from './socket.js';

startClocks();
startShell();

window.addEventListener('hashchange', route);
route();
refreshApprovalCount();
live.start();
