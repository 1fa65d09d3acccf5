/** `--json`: events as NDJSON in the wire format (`cloudops-exec schema event`), then one `plan_result` line. */
import type { ExecutionEvent, PlanExecutionResult } from '../../wire/types.js';
import type { RunView } from './view.js';

export class JsonView implements RunView {
  constructor(private readonly out: NodeJS.WritableStream) {}

  onEvent(event: ExecutionEvent): void {
    this.out.write(`${JSON.stringify(event)}\n`);
  }

  notice(): void {
    // Machine output stays pure NDJSON; notices go to stderr from the caller.
  }

  finish(result: PlanExecutionResult): void {
    this.out.write(`${JSON.stringify({ plan_result: result })}\n`);
  }
}
