/** Off a terminal (CI): one prefixed line per output line and per state change, nothing redrawn. */

import { printable } from '../../sinks/control-chars.js';
import type { ExecutionEvent, ExecutionPlan, PlanExecutionResult } from '../../wire/types.js';
import type { Style } from '../style.js';
import { completedText, labelsOf, type RunView, SYMBOLS, summaryLines } from './view.js';

export class PlainView implements RunView {
  private readonly labels;

  constructor(
    private readonly plan: ExecutionPlan,
    private readonly out: NodeJS.WritableStream,
    private readonly style: Style,
  ) {
    this.labels = labelsOf(plan);
  }

  onEvent(event: ExecutionEvent): void {
    if (event.event_type === 'progress') return;
    const label = this.labels.get(event.execution_id);
    if (!label) return;
    const prefix = this.style.paint('dim', `[${label.name}]`);
    switch (event.event_type) {
      case 'started':
        this.out.write(`${prefix} ${this.style.paint('cyan', `${SYMBOLS.running} ${printable(event.command)}`)}\n`);
        break;
      case 'stdout':
        this.out.write(`${prefix} ${event.line}\n`);
        break;
      case 'stderr':
        this.out.write(`${prefix} ${this.style.paint('red', event.line)}\n`);
        break;
      case 'completed':
        this.out.write(`${prefix} ${this.style.paint('green', completedText(event.result))}\n`);
        break;
      case 'failed':
        this.out.write(`${prefix} ${this.style.paint('red', `${SYMBOLS.failed} ${printable(event.error)}`)}\n`);
        break;
      case 'cancelled':
        this.out.write(`${prefix} ${this.style.paint('yellow', `${SYMBOLS.cancelled} cancelled`)}\n`);
        break;
    }
  }

  notice(message: string): void {
    this.out.write(`${this.style.paint('yellow', message)}\n`);
  }

  finish(result: PlanExecutionResult): void {
    this.out.write(`${summaryLines(this.plan, result, this.labels, this.style).join('\n')}\n`);
  }
}
