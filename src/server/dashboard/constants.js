// Status and risk vocabulary shared by the badges and the pages.

export const STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled', 'timeout', 'skipped', 'rolled_back', 'interrupted'];
export const RISKS = ['read_only', 'modify', 'destructive'];
export const ACTIVE = new Set(['pending', 'running']);
/** Events after which an execution's status (or a plan's) may have changed. */
export const STATUS_EVENTS = new Set(['started', 'completed', 'failed', 'cancelled', 'progress', 'retrying', 'rollback_started', 'rollback_completed']);

export const RISK_HELP = {
  read_only: 'Only reads: nothing is changed.',
  modify: 'Changes state: files, configuration or resources are modified.',
  destructive: 'Deletes or terminates things: check every command before approving.',
};
