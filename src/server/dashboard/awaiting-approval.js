// The execution page of a plan that has not started because it waits for approval: say so, and open the run once approved.

import { api } from './api.js';
import { approvalStateBadge, fill, h, pageHeader } from './dom.js';

/**
 * A plan waiting for approval has its id already, but no execution yet (GET answers 404).
 * When `id` is such a plan, show that it waits and return true; once it is approved and its
 * run exists, `open()` draws the execution page in its place. False when no approval has this id.
 */
export async function showAwaitingApproval(root, scope, id, open) {
  const approvalOf = async () => {
    try {
      return await api('GET', `/api/approvals/${encodeURIComponent(id)}`);
    } catch {
      return null;
    }
  };
  const first = await approvalOf();
  if (!scope.alive || !first) return false;
  let opened = false;
  const show = (a) => {
    if (opened || !scope.alive) return;
    if (a.execution_id) {
      opened = true;
      fill(root, h('p', { class: 'muted' }, 'Loading…'));
      open();
      return;
    }
    // Approved, but the run is not recorded yet: look again shortly.
    if (a.state === 'approved') scope.timeout(async () => show((await approvalOf()) ?? a), 500);
    const link = h('a', { href: `#/approvals/${encodeURIComponent(id)}` }, 'the approval');
    fill(
      root,
      pageHeader('Execution'),
      h(
        'section',
        { class: 'panel', testid: 'awaiting-approval' },
        h('p', {}, approvalStateBadge(a.state)),
        a.state === 'pending'
          ? h('p', {}, 'This plan has not started: it is waiting for approval. See ', link, '.')
          : a.state === 'approved'
            ? h('p', {}, 'Approved: starting…')
            : h('p', {}, `This plan did not run: its approval is ${a.state}. See `, link, '.'),
      ),
    );
  };
  scope.on('approval', (a) => {
    if (a?.id === id) show(a);
  });
  scope.on('resync', async () => {
    const a = await approvalOf();
    if (a) show(a);
  });
  show(first);
  return true;
}
