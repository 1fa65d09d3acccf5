/**
 * Ctrl-C: the first SIGINT (or SIGTERM) cancels everything running, which kills the
 * process trees, and lets the caller print its summary and exit 130; a second one exits at
 * once (the engine's exit hook still SIGKILLs whatever is left).
 */
import type { ExecutionEngine } from '../engine/engine.js';
import { EXIT } from './exit.js';
import { onOutputClosed } from './stdout.js';

export interface Interrupt {
  readonly triggered: boolean;
  dispose(): void;
}

export function cancelOnInterrupt(engine: ExecutionEngine, notify: (message: string) => void): Interrupt {
  let count = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      notify(
        `${signal === 'SIGINT' ? 'Interrupted' : `Received ${signal}`}: cancelling running commands (press Ctrl-C again to force)`,
      );
      void engine.shutdown({ mode: 'cancel' });
      return;
    }
    notify('Forced exit: killing remaining processes');
    process.exit(EXIT.INTERRUPTED);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The reader of our output went away (`| head`): cancel as Ctrl-C does, quietly (see stdout.ts).
  const unregister = onOutputClosed(() => engine.shutdown({ mode: 'cancel' }));
  return {
    get triggered() {
      return count > 0;
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      unregister();
    },
  };
}
