import { CAMPAIGN_STATUSES, type CampaignStatus } from '../../shared/contracts/campaigns';
import {
  allowedActions,
  deleteRefusal,
  editRefusal,
  isDeletable,
  isEditable,
  LifecycleError,
  nextStatus,
  type LifecycleEvent,
} from '../../server/src/engine/campaign-lifecycle';

const NOW = Date.parse('2030-01-01T12:00:00Z');
const future = '2030-01-01T13:00:00Z';
const past = '2030-01-01T11:00:00Z';

/** Every allowed (from, event) -> to, with no scheduled date; everything else must be refused. */
const ALLOWED: Array<[CampaignStatus, LifecycleEvent, CampaignStatus]> = [
  ['draft', 'start', 'sending'],
  ['draft', 'schedule', 'scheduled'],
  ['scheduled', 'start', 'sending'],
  ['scheduled', 'schedule', 'scheduled'],
  ['scheduled', 'unschedule', 'draft'],
  ['scheduled', 'cancel', 'cancelled'],
  ['scheduled', 'dispatch', 'sending'],
  ['sending', 'pause', 'paused'],
  ['sending', 'cancel', 'cancelled'],
  ['sending', 'complete', 'completed'],
  ['sending', 'fail', 'failed'],
  ['paused', 'resume', 'sending'],
  ['paused', 'cancel', 'cancelled'],
];

const EVENTS: LifecycleEvent[] = ['start', 'schedule', 'unschedule', 'pause', 'resume', 'cancel', 'dispatch', 'complete', 'fail'];

describe('campaign lifecycle table', () => {
  it.each(ALLOWED)('%s --%s--> %s', (from, event, to) => {
    expect(nextStatus(from, event, { now: NOW })).toBe(to);
  });

  it('refuses every other transition with a LifecycleError', () => {
    let refused = 0;
    for (const from of CAMPAIGN_STATUSES) {
      for (const event of EVENTS) {
        if (ALLOWED.some(([f, e]) => f === from && e === event)) continue;
        expect(() => nextStatus(from, event, { now: NOW })).toThrow(LifecycleError);
        refused += 1;
      }
    }
    expect(refused).toBe(CAMPAIGN_STATUSES.length * EVENTS.length - ALLOWED.length);
  });

  it('never leaves a final status', () => {
    for (const from of ['completed', 'cancelled', 'failed'] as const) {
      expect(allowedActions(from)).toEqual([]);
      for (const event of EVENTS) expect(() => nextStatus(from, event)).toThrow(LifecycleError);
    }
  });

  it('starts a draft dated in the future as scheduled, and one dated in the past as sending', () => {
    expect(nextStatus('draft', 'start', { scheduledAt: future, now: NOW })).toBe('scheduled');
    expect(nextStatus('draft', 'start', { scheduledAt: past, now: NOW })).toBe('sending');
    expect(nextStatus('draft', 'start', { scheduledAt: new Date(NOW + 1000), now: NOW })).toBe('scheduled');
    // "Start" on a scheduled campaign means "send now", whatever its date.
    expect(nextStatus('scheduled', 'start', { scheduledAt: future, now: NOW })).toBe('sending');
  });

  it('says why, in words an editor understands', () => {
    expect(() => nextStatus('completed', 'start')).toThrow('Cannot start this campaign: it has completed; duplicate it to send again');
    expect(() => nextStatus('draft', 'pause')).toThrow('Cannot pause this campaign: it is a draft');
    const error = (() => {
      try {
        nextStatus('sending', 'resume');
      } catch (caught) {
        return caught as LifecycleError;
      }
      return null;
    })();
    expect(error).toMatchObject({ from: 'sending', event: 'resume' });
  });

  it('lists the buttons to show per status', () => {
    expect(allowedActions('draft')).toEqual(['start', 'schedule']);
    expect(allowedActions('scheduled')).toEqual(['start', 'schedule', 'unschedule', 'cancel']);
    expect(allowedActions('sending')).toEqual(['pause', 'cancel']);
    expect(allowedActions('paused')).toEqual(['resume', 'cancel']);
  });

  it('allows editing only in draft and scheduled, and deleting only when nothing is in flight', () => {
    expect(CAMPAIGN_STATUSES.filter(isEditable)).toEqual(['draft', 'scheduled']);
    expect(CAMPAIGN_STATUSES.filter(isDeletable)).toEqual(['draft', 'completed', 'cancelled', 'failed']);
    expect(editRefusal('draft')).toBeNull();
    expect(editRefusal('sending')).toMatch(/sending.*only be changed while it is a draft or scheduled/);
    expect(deleteRefusal('paused')).toMatch(/cancel it first/);
    expect(deleteRefusal('completed')).toBeNull();
  });
});
