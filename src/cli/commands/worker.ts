/** `worker`: run queued commands from Redis until Ctrl-C (first: drain, second: cancel, third: leave). */
import { DEFAULT_CONFIG } from '../../config.js';
import { ValidationError } from '../../errors.js';
import { engineConfig } from '../engine-config.js';
import { CliExit, EXIT } from '../exit.js';
import { optionalIntOption } from '../int-option.js';
import type { EngineOptions } from '../options.js';

export interface WorkerCliOptions extends EngineOptions {
  maxTimeout?: string;
  concurrency?: string;
  onWorkerLost?: string;
  lockDuration?: string;
}

export async function workerCommand(options: WorkerCliOptions): Promise<number> {
  const url = options.redis ?? process.env.CLOUDOPS_REDIS_URL;
  if (!url) throw new CliExit(EXIT.BAD_INPUT, 'a worker needs --redis <url> (or CLOUDOPS_REDIS_URL)');
  const { redis: _ignored, ...base } = engineConfig({ ...options, redis: undefined });
  // Every job carries the submitting engine's timeout; the worker only bounds it.
  const maxTimeout = optionalIntOption('--max-timeout', options.maxTimeout, { min: 1 });
  const engine =
    maxTimeout === undefined
      ? base
      : {
          ...base,
          max_timeout_ms: maxTimeout,
          default_timeout_ms: Math.min(DEFAULT_CONFIG.default_timeout_ms, maxTimeout),
        };
  // Loaded here so the other subcommands do not pay for BullMQ.
  const { QueueWorker } = await import('../../queue/worker.js');
  const { redactUrl } = await import('../../queue/connections.js');
  let worker;
  try {
    worker = await QueueWorker.start({
      redis: { url, queue: options.queue ?? 'cloudops-exec' },
      concurrency: optionalIntOption('--concurrency', options.concurrency, { min: 1 }),
      on_worker_lost: options.onWorkerLost as 'fail' | 'retry' | undefined,
      lock_duration_ms: optionalIntOption('--lock-duration', options.lockDuration, { min: 1000 }),
      engine,
    });
  } catch (err) {
    if (err instanceof ValidationError)
      throw new CliExit(EXIT.BAD_INPUT, `--${err.field.replace(/_/g, '-').replace(/-ms$/, '')}: ${err.reason}`);
    throw err;
  }
  const say = (line: string) => process.stderr.write(`${line}\n`);
  say(
    `cloudops-exec worker ${worker.id} taking jobs from queue "${options.queue ?? 'cloudops-exec'}" at ${redactUrl(url)}`,
  );

  let signals = 0;
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      signals++;
      if (signals === 1) {
        say(`Stopping: finishing ${worker.running} running command(s) (Ctrl-C again to cancel them)`);
        void worker.close().then(resolve);
      } else if (signals === 2) {
        say('Cancelling running commands');
        void worker.close({ force: true }).then(resolve);
      } else {
        process.exit(EXIT.INTERRUPTED);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return EXIT.OK;
}
