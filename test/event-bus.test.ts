/** EventBus delivery order: synchronous handlers are called at once, queued events keep publish order. */
import { expect, test } from 'vitest';
import { EventBus } from '../src/sinks/event-bus.js';
import type { ExecutionEvent } from '../src/wire/types.js';

const line = (n: number): ExecutionEvent =>
  ({
    event_type: 'stdout',
    execution_id: 'x',
    line: String(n),
    timestamp: '2026-12-01T10:00:00.000Z',
  }) as ExecutionEvent;
const label = (event: ExecutionEvent) => (event as { line: string }).line;

test('a synchronous handler that publishes while handling sees its event after the current one, in order', () => {
  const bus = new EventBus({ bufferLimit: 100, handlerTimeoutMs: 1000 });
  const seen: string[] = [];
  bus.subscribe((event) => {
    seen.push(label(event));
    if (label(event) === '1') {
      bus.publish(line(10));
      bus.publish(line(11));
      seen.push('end of 1');
    }
  });
  for (const n of [1, 2, 3]) bus.publish(line(n));
  expect(seen).toEqual(['1', 'end of 1', '10', '11', '2', '3']);
});

test('events published while an async handler is busy wait for it, then come in order', async () => {
  const bus = new EventBus({ bufferLimit: 100, handlerTimeoutMs: 1000 });
  const seen: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  bus.subscribe((event) => {
    seen.push(label(event));
    return label(event) === '1' ? gate : undefined;
  });
  for (const n of [1, 2, 3]) bus.publish(line(n));
  expect(seen).toEqual(['1']);
  release();
  await gate;
  await new Promise((resolve) => setImmediate(resolve));
  bus.publish(line(4));
  expect(seen).toEqual(['1', '2', '3', '4']);
});

test('a handler more than bufferLimit events behind loses line events, and is told how many', async () => {
  const bus = new EventBus({ bufferLimit: 2, handlerTimeoutMs: 1000 });
  const seen: string[] = [];
  const errors: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  bus.subscribe(
    (event) => {
      seen.push(label(event));
      return label(event) === '1' ? gate : undefined;
    },
    { onError: (error) => errors.push((error as Error).message) },
  );
  for (const n of [1, 2, 3, 4, 5]) bus.publish(line(n));
  release();
  await gate;
  await new Promise((resolve) => setImmediate(resolve));
  expect(seen).toEqual(['1', '2', '3']);
  expect(errors).toEqual(['subscriber fell behind; dropped 2 output line events']);
});
