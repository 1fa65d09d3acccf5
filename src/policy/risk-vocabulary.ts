/**
 * The words of risk: the three levels, and an assessment (a level, whether the effect could be
 * established at all, and why). Every classifier returns these; the policy reads them.
 */

import { RISK_LEVELS, type RiskLevel } from '../vocabulary.js';

export { RISK_LEVELS, type RiskLevel } from '../vocabulary.js';

/** A level's rank is its place in the vocabulary's order, least to most. */
const RANK = Object.fromEntries(RISK_LEVELS.map((level, rank) => [level, rank])) as Record<RiskLevel, number>;

export function maxRisk(...levels: Array<RiskLevel | null | undefined>): RiskLevel {
  let out: RiskLevel = 'read_only';
  for (const level of levels) if (level && RANK[level] > RANK[out]) out = level;
  return out;
}

export function riskAtLeast(level: RiskLevel, threshold: RiskLevel): boolean {
  return RANK[level] >= RANK[threshold];
}

/**
 * What a command can be seen to do. `verified: false` means its effect could not be
 * established (code computed at run time, an interpreter running inline code, a script, an
 * unknown program, an environment that changes what runs): `risk_level` is then only what
 * could be seen, and the approval policy decides how to treat the rest (`unverified_risk`).
 */
export interface RiskAssessment {
  risk_level: RiskLevel;
  verified: boolean;
  /** Why the level is what it is, and why the effect could not be established; short phrases. */
  reasons: string[];
}

const MAX_REASONS = 8;

export function assessed(level: RiskLevel, reason?: string): RiskAssessment {
  return { risk_level: level, verified: true, reasons: reason ? [reason] : [] };
}

/** An effect that cannot be established; `seen` is what could be seen of it. */
export function unverified(reason: string, seen: RiskLevel = 'modify'): RiskAssessment {
  return { risk_level: maxRisk(seen, 'modify'), verified: false, reasons: [reason] };
}

/** Several parts of one command together: the highest level, verified only if every part is. */
export function combine(parts: readonly RiskAssessment[]): RiskAssessment {
  const reasons = new Set<string>();
  for (const part of parts) for (const reason of part.reasons) if (reasons.size < MAX_REASONS) reasons.add(reason);
  return {
    risk_level: maxRisk(...parts.map((p) => p.risk_level)),
    verified: parts.every((p) => p.verified),
    reasons: [...reasons],
  };
}
