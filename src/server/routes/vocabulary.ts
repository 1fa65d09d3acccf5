/** The project's words (statuses, risk levels, approval states, error codes, kinds), served from their one definition. */
import type { z } from 'zod';
import {
  ACTIVE_STATUSES,
  ApprovalStateSchema,
  ExecutionKindSchema,
  ExecutionStatusSchema,
  FAILED_STATUSES,
  ResultErrorCodeSchema,
  RiskLevelSchema,
} from '../../vocabulary.js';
import { EVENT_TYPES, LINE_EVENT_TYPES } from '../../wire/schema.js';
import { Vocabulary } from '../api-schemas.js';
import { type RouteSpec, route } from '../route-spec.js';

/** What `GET /api/vocabulary` answers: the vocabulary's enums, in their order. */
export const VOCABULARY: z.output<typeof Vocabulary> = {
  statuses: [...ExecutionStatusSchema.options],
  active_statuses: [...ACTIVE_STATUSES],
  failed_statuses: [...FAILED_STATUSES],
  risk_levels: [...RiskLevelSchema.options],
  approval_states: [...ApprovalStateSchema.options],
  result_error_codes: [...ResultErrorCodeSchema.options],
  kinds: [...ExecutionKindSchema.options],
  event_types: [...EVENT_TYPES],
  line_event_types: [...LINE_EVENT_TYPES],
};

export function vocabularyRoutes(): RouteSpec[] {
  return [
    route({
      method: 'GET',
      url: '/api/vocabulary',
      operationId: 'getVocabulary',
      summary:
        'The words the API uses: statuses (and which are still active), risk levels, approval states, error codes, kinds',
      tag: 'server',
      access: 'read',
      responses: { 200: { description: 'The vocabulary', schema: Vocabulary } },
      handler: async () => VOCABULARY,
    }),
  ];
}
