/** The engine options of a subcommand (options.ts) as an ExecutionConfig. */
import { type ExecutionConfig, type ExecutionConfigInput, resolveConfig } from '../config.js';
import { optionalIntOption } from './int-option.js';
import type { EngineOptions } from './options.js';

export function engineConfig(options: EngineOptions): ExecutionConfig {
  const timeout = optionalIntOption('--timeout', options.timeout, { min: 1 });
  const redisUrl = options.redis ?? process.env.CLOUDOPS_REDIS_URL;
  const input: ExecutionConfigInput = {
    log_dir: options.logDir ?? process.env.CLOUDOPS_LOG_DIR ?? null,
    ...(options.maxConcurrent !== undefined
      ? { max_concurrent_executions: optionalIntOption('--max-concurrent', options.maxConcurrent, { min: 1 }) }
      : {}),
    // A default timeout above the usual maximum (10 minutes) raises the maximum with it: the user asked for it.
    ...(timeout !== undefined ? { default_timeout_ms: timeout, max_timeout_ms: Math.max(timeout, 600_000) } : {}),
    ...(options.killGrace !== undefined ? { kill_grace_ms: optionalIntOption('--kill-grace', options.killGrace) } : {}),
    ...(options.awsCli !== undefined ? { aws_cli_path: options.awsCli } : {}),
    ...(options.endpointUrl !== undefined ? { aws_endpoint_url: options.endpointUrl } : {}),
    ...(options.profile !== undefined ? { aws_profile: options.profile } : {}),
    ...(options.region !== undefined ? { aws_region: options.region } : {}),
    ...(options.allowUnknownFields ? { allow_unknown_fields: true } : {}),
    ...(redisUrl ? { redis: { url: redisUrl, queue: options.queue ?? 'cloudops-exec' } } : {}),
  };
  return resolveConfig(input);
}
