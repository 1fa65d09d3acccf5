/**
 * Abort-signal bookkeeping under volume (both found by this suite, now fixed):
 * - `execute(request, { signal })` / `executePlan(plan, { signal })` used to leave their
 *   `abort` listener on the caller's signal after the execution ended: a caller passing one
 *   long-lived signal leaked a listener (and an AbortController) per execution.
 * - `startPlan` used to link every command's controller to the plan's signal, so a plan of
 *   more than 10 commands made Node print MaxListenersExceededWarning.
 */
import { getEventListeners } from 'node:events';
import { expect, test } from 'vitest';
import { makeEngine } from './helpers.js';

const trueCommand = { command: { type: 'exec' as const, program: 'true' } };

/** Collect process warnings emitted while `fn` runs (they are emitted on a later tick). */
async function warningsDuring(fn: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const onWarning = (w: Error) => void seen.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  try {
    await fn();
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    process.off('warning', onWarning);
  }
  return seen.filter((w) => w.startsWith('MaxListenersExceededWarning'));
}

test("a caller's AbortSignal keeps no listener for a finished execution", async () => {
  const engine = makeEngine({ store_history: false });
  const controller = new AbortController();
  const warnings = await warningsDuring(async () => {
    for (let i = 0; i < 20; i++) await engine.wait(await engine.execute(trueCommand, { signal: controller.signal }));
    await engine.waitPlan(await engine.executePlan({ commands: [trueCommand] }, { signal: controller.signal }));
  });
  // 21 executions are over: none of them should still be listening to the caller's signal.
  expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  expect(warnings).toEqual([]);
});

test('a plan of 12 commands does not make Node warn MaxListenersExceededWarning', async () => {
  const engine = makeEngine({ store_history: false });
  const warnings = await warningsDuring(async () => {
    const id = await engine.executePlan({
      strategy: { type: 'parallel', max_concurrency: null },
      commands: Array.from({ length: 12 }, () => trueCommand),
    });
    expect((await engine.waitPlan(id)).status).toBe('completed');
  });
  expect(warnings).toEqual([]);
});
