/**
 * On a terminal: a live task list redrawn in place, one row per command with its status,
 * elapsed time and the tail of its output; the full output stays in the log files.
 */
import { createLogUpdate } from 'log-update';
import { flattened, printable } from '../../sinks/control-chars.js';
import type { ExecutionEvent, ExecutionPlan, ExecutionStatus, PlanExecutionResult } from '../../wire/types.js';
import { formatDuration, type Style } from '../style.js';
import {
  type CommandLabel,
  completedText,
  labelsOf,
  type RunView,
  SYMBOLS,
  statusColor,
  summaryLines,
} from './view.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const FRAME_MS = 100;

interface Row {
  label: CommandLabel;
  status: ExecutionStatus;
  startedAt: number | null;
  durationMs: number | null;
  tail: string;
}

export class TtyView implements RunView {
  private readonly rows: Row[];
  private readonly byId = new Map<string, Row>();
  private readonly render: ReturnType<typeof createLogUpdate>;
  private readonly timer: NodeJS.Timeout;
  private readonly startedAt = Date.now();
  private frame = 0;
  private finished = 0;
  private notices: string[] = [];

  constructor(
    private readonly plan: ExecutionPlan,
    private readonly out: NodeJS.WriteStream,
    private readonly style: Style,
  ) {
    this.rows = [...labelsOf(plan).values()].map((label) => ({
      label,
      status: 'pending',
      startedAt: null,
      durationMs: null,
      tail: '',
    }));
    this.rows.forEach((row, i) => this.byId.set(plan.commands[i]!.id, row));
    this.render = createLogUpdate(out, { showCursor: false });
    this.timer = setInterval(() => this.draw(), FRAME_MS);
    this.timer.unref();
    this.draw();
  }

  onEvent(event: ExecutionEvent): void {
    if (event.event_type === 'progress') {
      this.finished = event.completed;
      return;
    }
    const row = this.byId.get(event.execution_id);
    if (!row) return;
    switch (event.event_type) {
      case 'started':
        row.status = 'running';
        row.startedAt = Date.parse(event.timestamp);
        break;
      case 'stdout':
      case 'stderr':
        if (event.line.trim()) row.tail = event.line;
        break;
      case 'completed':
        row.status = 'completed';
        row.durationMs = event.result.duration_ms;
        if (event.result.carried_from !== null) row.tail = completedText(event.result);
        break;
      case 'failed':
        // The event's code says how (a timeout is shown as one); nothing is read from the message's words.
        row.status = event.error_code === 'timeout' ? 'timeout' : 'failed';
        row.tail = event.error;
        break;
      case 'cancelled':
        row.status = 'cancelled';
        break;
    }
  }

  notice(message: string): void {
    this.notices.push(message);
    this.draw();
  }

  finish(result: PlanExecutionResult): void {
    clearInterval(this.timer);
    for (const r of result.results) {
      const row = this.byId.get(r.id);
      if (row) {
        row.status = r.status;
        row.durationMs = r.duration_ms;
      }
    }
    this.finished = result.stats.total;
    this.draw();
    this.render.done();
    this.out.write(`${summaryLines(this.plan, result, labelsOf(this.plan), this.style).join('\n')}\n`);
  }

  private draw(): void {
    this.frame++;
    const spin = SPINNER[this.frame % SPINNER.length]!;
    const width = Math.max(40, this.out.columns ?? 100);
    const title = printable(this.plan.description || `plan ${this.plan.id}`);
    const lines = [
      `${this.style.paint('bold', title)}  ${this.style.paint('dim', `${this.finished}/${this.rows.length} · ${formatDuration(Date.now() - this.startedAt)}`)}`,
    ];
    for (const row of this.rows) {
      const symbol = row.status === 'running' ? spin : (SYMBOLS[row.status as keyof typeof SYMBOLS] ?? '•');
      const elapsed =
        row.durationMs !== null
          ? formatDuration(row.durationMs)
          : row.startedAt !== null
            ? formatDuration(Date.now() - row.startedAt)
            : row.status;
      const head = `${this.style.paint(statusColor(row.status), symbol)} ${row.label.name}  ${this.style.paint('dim', elapsed)}`;
      const room = width - visibleLength(head) - 4;
      const tail = row.tail && room > 8 ? `  ${this.style.paint('dim', `› ${truncate(row.tail, room)}`)}` : '';
      lines.push(`  ${head}${tail}`);
    }
    for (const n of this.notices) lines.push(this.style.paint('yellow', n));
    this.render(lines.join('\n'));
  }
}

/** One row's tail: output or an error, flattened to one line with no control characters (C1 included) left to reach the terminal. */
function truncate(text: string, max: number): string {
  const flat = flattened(text);
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, '').length;
}
