// The execution page of a plan that has not started because it waits for approval: say so, and open the run once approved.

import { api } from './api.js';
import { approvalStateBadge, fill, h, pageHeader } from './dom.js';

/** How many times a run the approval names under this page's id is looked for again (every 500 ms) before giving up. */
const MAX_REOPENS = 20;
/** How many times an approved plan whose run has no id yet is looked at again (every 500 ms). */
const MAX_POLLS = 60;

/**
 * A plan waiting for approval has its id already, but no execution yet (GET answers 404).
 * When `id` is such a plan, show that it waits and return true; once it is approved and its
 * run exists, the run is shown: under this id, `open(reopens + 1)` draws the execution page in
 * its place (`reopens`: how often that was done already and found no run, which bounds it);
 * under another id (an approver's edit gave the plan new ids), the page goes to that run's page.
 * False when no approval has this id.
 */
export async function showAwaitingApproval(root, scope, id, open, reopens = 0) {
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
  let polling = false;
  let polls = 0;
  const approvalLink = () => h('a', { href: `#/approvals/${encodeURIComponent(id)}` }, 'the approval');
  const show = (a) => {
    if (opened || !scope.alive) return;
    if (a.execution_id) {
      opened = true;
      if (a.execution_id !== id) {
        // The run has ids of its own (an edited plan): show its page, replacing this one in the
        // history, so that Back does not come here only to be sent on again.
        location.replace(`#/executions/${encodeURIComponent(a.execution_id)}`);
        return;
      }
      if (reopens >= MAX_REOPENS) {
        say(a, 'Approved, but its run cannot be found. Reload to look again, or see ', approvalLink(), '.');
        return;
      }
      // The execution page shows its own "Loading…". Found no run a moment ago although the
      // approval names it: look again after a pause.
      const reopen = () => {
        fill(root);
        open(reopens + 1);
      };
      if (reopens === 0) reopen();
      else {
        fill(root, h('p', { class: 'muted' }, 'Loading…'));
        scope.timeout(reopen, 500);
      }
      return;
    }
    // Approved, but the run is not recorded yet: look again shortly (one poll at a time, a
    // bounded number of times; the live events still bring it after that).
    if (a.state === 'approved' && !polling && polls < MAX_POLLS) {
      polling = true;
      polls += 1;
      scope.timeout(async () => {
        const again = await approvalOf();
        polling = false;
        show(again ?? a);
      }, 500);
    }
    const link = approvalLink();
    if (a.state === 'pending') say(a, 'This plan has not started: it is waiting for approval. See ', link, '.');
    else if (a.state === 'approved') say(a, 'Approved: starting…');
    else say(a, `This plan did not run: its approval is ${a.state}. See `, link, '.');
  };

  /** The page: the approval's state, and `content` saying what that means for the run. */
  const say = (a, ...content) =>
    fill(
      root,
      pageHeader('Execution'),
      h(
        'section',
        { class: 'panel', testid: 'awaiting-approval' },
        h('p', {}, approvalStateBadge(a.state)),
        h('p', {}, ...content),
      ),
    );
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
