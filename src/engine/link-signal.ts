/** Tying a caller's AbortSignal to an execution's own cancel switch. */

/** Abort `target` when `source` aborts, until `until` settles (a caller's long-lived signal must not collect a listener per execution). */
export function linkSignal(source: AbortSignal | undefined, target: AbortController, until: Promise<unknown>): void {
  if (!source) return;
  if (source.aborted) {
    target.abort(source.reason);
    return;
  }
  const onAbort = () => target.abort(source.reason);
  source.addEventListener('abort', onAbort, { once: true });
  void until.finally(() => source.removeEventListener('abort', onAbort));
}
