/** The listing filters as clients write them (`from`, `to`), as the history store takes them. */
import type { ExecutionFilter } from '../history/store.js';

export interface FilterQuery {
  status?: ExecutionFilter['status'];
  risk_level?: ExecutionFilter['risk_level'];
  error_code?: ExecutionFilter['error_code'];
  conversation_id?: string | undefined;
  kind?: ExecutionFilter['kind'];
  top_level?: boolean | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

export function historyFilterOf(query: FilterQuery): ExecutionFilter {
  return {
    status: query.status,
    risk_level: query.risk_level,
    error_code: query.error_code,
    conversation_id: query.conversation_id,
    kind: query.kind,
    top_level: query.top_level,
    from_date: query.from,
    to_date: query.to,
  };
}
