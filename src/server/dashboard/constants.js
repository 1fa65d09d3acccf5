// The server's words (statuses, risk levels, approval states, error codes, kinds), loaded once
// from GET /api/vocabulary before the first page renders (app.js), and the page's own words.

/**
 * The server's vocabulary, never spelled out here: a status or risk level added on the server
 * reaches the filters and badges without a change to the dashboard. Filled by `useVocabulary`.
 */
export const vocabulary = {
  statuses: [],
  /** Statuses of work that has not ended yet (it can be cancelled, its page keeps updating). */
  active: new Set(),
  /** Statuses of work that ended in error. */
  failed: new Set(),
  riskLevels: [],
  approvalStates: [],
  resultErrorCodes: [],
  kinds: [],
  /** Events after which an execution's status (or a plan's) may have changed: all but the line events. */
  statusEvents: new Set(),
};

/** Take the answer of GET /api/vocabulary. */
export function useVocabulary(answer) {
  vocabulary.statuses = [...answer.statuses];
  vocabulary.active = new Set(answer.active_statuses);
  vocabulary.failed = new Set(answer.failed_statuses);
  vocabulary.riskLevels = [...answer.risk_levels];
  vocabulary.approvalStates = [...answer.approval_states];
  vocabulary.resultErrorCodes = [...answer.result_error_codes];
  vocabulary.kinds = [...answer.kinds];
  const lines = new Set(answer.line_event_types);
  vocabulary.statusEvents = new Set(answer.event_types.filter((type) => !lines.has(type)));
}

export const RISK_HELP = {
  read_only: 'Only reads: nothing is changed.',
  modify: 'Changes state: files, configuration or resources are modified.',
  destructive: 'Deletes or terminates things: check every command before approving.',
};
