/** `exec -- PROGRAM ARGS...` and `sh 'COMMAND'`: one command, output passed through, exit code mirrored. */
import { createEngine } from '../../create-engine.js';
import { printable } from '../../sinks/control-chars.js';
import type { ExecutionRequestInput } from '../../wire/types.js';
import { engineConfig } from '../engine-config.js';
import { CliExit, EXIT, exitCodeOf } from '../exit.js';
import { cancelOnInterrupt } from '../interrupt.js';
import type { EngineOptions } from '../options.js';
import { outputClosed } from '../stdout.js';
import { watchForWorker } from '../worker-watch.js';

export interface SingleOptions extends EngineOptions {
  json?: boolean;
  cwd?: string;
  env?: string[];
  shell?: string;
}

function envOf(pairs: string[] = []): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliExit(EXIT.BAD_INPUT, `--env expects NAME=VALUE (got "${pair}")`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

export async function runSingle(command: ExecutionRequestInput['command'], options: SingleOptions): Promise<number> {
  const engine = createEngine(engineConfig(options));
  engine.subscribe((event) => {
    if (options.json) process.stdout.write(`${JSON.stringify(event)}\n`);
    else if (event.event_type === 'stdout') process.stdout.write(`${event.line}\n`);
    else if (event.event_type === 'stderr') process.stderr.write(`${event.line}\n`);
  });
  const id = await engine.execute({
    command,
    env: envOf(options.env),
    working_dir: options.cwd ?? null,
    metadata: { source: 'cli', conversation_id: null, tags: {} },
  });
  const interrupt = cancelOnInterrupt(engine, (message) => process.stderr.write(`${message}\n`));
  watchForWorker(engine, (message) => process.stderr.write(`cloudops-exec: ${message}\n`));
  try {
    const result = await engine.wait(id);
    if (result.status !== 'completed' && !options.json && !outputClosed()) {
      process.stderr.write(
        `cloudops-exec: ${printable(result.error ?? result.status)} (log: ${printable(result.log_path)})\n`,
      );
    }
    return interrupt.triggered ? EXIT.INTERRUPTED : exitCodeOf(result);
  } finally {
    interrupt.dispose();
    await engine.shutdown();
  }
}
