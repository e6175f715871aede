import {
  DELETABLE_CAMPAIGN_STATUSES,
  EDITABLE_CAMPAIGN_STATUSES,
  type CampaignAction,
  type CampaignStatus,
} from '../../../shared/contracts/campaigns';

/**
 * The campaign lifecycle as one table (plain TypeScript, no Strapi):
 *
 *   draft     -> scheduled (start with scheduledAt in the future, or schedule) | sending (start)
 *   scheduled -> sending (start now, or the scheduler when due) | scheduled (reschedule)
 *              | draft (unschedule) | cancelled
 *   sending   -> paused | completed | cancelled | failed
 *   paused    -> sending (resume) | cancelled
 *   completed, cancelled, failed: final.
 *
 * The Strapi layer applies a transition with a conditional update (`where status = from`), so of two
 * admins or processes acting at once only one wins; the other is told what the campaign is now.
 */

/** Admin actions plus the ones only the runner takes. */
export type LifecycleEvent = CampaignAction | 'dispatch' | 'complete' | 'fail';

interface Rule {
  from: readonly CampaignStatus[];
  /** The target; `start` depends on whether the campaign is scheduled for later. */
  to: (options: { scheduledFuture: boolean; from: CampaignStatus }) => CampaignStatus;
  /** What to call the action in a refusal: "start", "pause"... */
  verb: string;
}

const RULES: Record<LifecycleEvent, Rule> = {
  start: {
    from: ['draft', 'scheduled'],
    // A draft with a future date is scheduled; "start" on a scheduled campaign sends it now.
    to: ({ scheduledFuture, from }) => (from === 'draft' && scheduledFuture ? 'scheduled' : 'sending'),
    verb: 'start',
  },
  schedule: { from: ['draft', 'scheduled'], to: () => 'scheduled', verb: 'schedule' },
  unschedule: { from: ['scheduled'], to: () => 'draft', verb: 'unschedule' },
  pause: { from: ['sending'], to: () => 'paused', verb: 'pause' },
  resume: { from: ['paused'], to: () => 'sending', verb: 'resume' },
  cancel: { from: ['scheduled', 'sending', 'paused'], to: () => 'cancelled', verb: 'cancel' },
  dispatch: { from: ['scheduled'], to: () => 'sending', verb: 'start' },
  complete: { from: ['sending'], to: () => 'completed', verb: 'complete' },
  fail: { from: ['sending'], to: () => 'failed', verb: 'fail' },
};

const ADMIN_ACTIONS: readonly CampaignAction[] = ['start', 'schedule', 'unschedule', 'pause', 'resume', 'cancel'];

/** A transition the table does not allow; the message is meant for the editor. */
export class LifecycleError extends Error {
  constructor(
    message: string,
    readonly from: CampaignStatus,
    readonly event: LifecycleEvent
  ) {
    super(message);
    this.name = 'LifecycleError';
  }
}

const WHY_NOT: Partial<Record<CampaignStatus, string>> = {
  completed: 'it has completed; duplicate it to send again',
  cancelled: 'it was cancelled',
  failed: 'it failed',
  sending: 'it is sending',
  paused: 'it is paused',
  scheduled: 'it is scheduled',
  draft: 'it is a draft',
};

/** Refusal text, e.g. "Cannot start this campaign: it has completed; duplicate it to send again". */
export const refusalMessage = (event: LifecycleEvent, from: CampaignStatus): string =>
  `Cannot ${RULES[event].verb} this campaign: ${WHY_NOT[from] ?? `it is ${from}`}`;

/**
 * Where `event` takes a campaign in status `from`; throws a LifecycleError when the table forbids it.
 * `scheduledAt` only matters for `start` (a future date schedules instead of sending).
 */
export const nextStatus = (
  from: CampaignStatus,
  event: LifecycleEvent,
  options: { scheduledAt?: Date | string | null; now?: number } = {}
): CampaignStatus => {
  const rule = RULES[event];
  if (!rule.from.includes(from)) throw new LifecycleError(refusalMessage(event, from), from, event);
  const at = options.scheduledAt ? new Date(options.scheduledAt).getTime() : Number.NaN;
  const scheduledFuture = Number.isFinite(at) && at > (options.now ?? Date.now());
  return rule.to({ scheduledFuture, from });
};

export const canApply = (from: CampaignStatus, event: LifecycleEvent): boolean => RULES[event].from.includes(from);

/** The admin actions allowed now (which buttons to show). */
export const allowedActions = (status: CampaignStatus): CampaignAction[] =>
  ADMIN_ACTIONS.filter((action) => RULES[action].from.includes(status));

export const isEditable = (status: CampaignStatus): boolean => EDITABLE_CAMPAIGN_STATUSES.includes(status);

export const isDeletable = (status: CampaignStatus): boolean => DELETABLE_CAMPAIGN_STATUSES.includes(status);

/** Why a campaign cannot be edited (null when it can). */
export const editRefusal = (status: CampaignStatus): string | null =>
  isEditable(status)
    ? null
    : `This campaign is ${status}: its content, audience, group and schedule can only be changed while it is a draft or scheduled`;

/** Why a campaign cannot be deleted (null when it can). */
export const deleteRefusal = (status: CampaignStatus): string | null =>
  isDeletable(status) ? null : `This campaign is ${status}: cancel it first (only draft, completed, cancelled or failed campaigns can be deleted)`;
