/** Step outputs in queue mode: a worker process runs the steps as resolved; outputs are read on the submitting side. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { makeEngine, sh, tempDir } from './helpers.js';
import { type RedisServer, startRedis, startWorkerProcess } from './support/redis.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

test('outputs flow from one queued step to the next, substituted before the job is queued', async () => {
  const queue = `t-${randomUUID().slice(0, 8)}`;
  const worker = await startWorkerProcess(redis.url, queue, tempDir('cee-worker-'));
  const engine = makeEngine({ redis: { url: redis.url, queue }, kill_grace_ms: 500 });
  try {
    const id = await engine.executePlan({
      parameters: { who: { type: 'string', default: "o'brien; $(id)" } },
      commands: [
        {
          name: 'make',
          ...sh('echo \'{"Reservations":[{"Id":"r-1"}]}\''),
          outputs: { id: { json: 'Reservations[0].Id' } },
        },
        { name: 'use', ...sh('echo ${{ steps.make.outputs.id }} ${{ params.who }}') },
      ],
    });
    const result = await engine.waitPlan(id);
    expect(result.status).toBe('completed');
    expect(result.results[0]!.outputs).toEqual({ id: 'r-1' });
    expect(result.results[1]!.stdout).toBe("r-1 o'brien; $(id)\n");
  } finally {
    await engine.shutdown();
    await worker.stop();
  }
}, 60_000);
