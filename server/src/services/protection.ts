import type { Core } from '@strapi/strapi';

import {
  PROTECTION_OUTCOMES,
  type AlertEvidence,
  type ProtectionOutcome,
  type ProtectionRuleId,
} from '../../../shared/contracts/alerts';
import type { MessageLogEntry } from '../../../shared/contracts/messages';
import {
  createProtectionMonitor,
  createRedisWindowStore,
  outcomeOfEngineEvent,
  percent,
  ruleLabel,
  settingsOf,
  summaryOf,
  type ProtectionMonitor,
  type Verdict,
  type WindowState,
  type WindowStore,
} from '../engine/protection';
import type { EngineEvent, SendOptions } from '../engine/sending-engine';
import { createAlertRepository, type AlertEntity } from '../repositories/alerts';
import { createServerRepository } from '../repositories/servers';
import { getService } from '../utils/get-service';

/** What the bounces service, the engine's events and tests hand in. */
export interface ProtectionObservation {
  /** The server's documentId. */
  serverId: string;
  outcome: ProtectionOutcome;
  /** The SMTP reply or the report's diagnostic (kept as evidence when it is not an acceptance). */
  reply?: string | null;
  /**
   * Whether the report came after the server accepted the message (an asynchronous DSN, a
   * complaint). Defaults to true for hardBounce, softBounce and complaint, false otherwise: the
   * engine's own synchronous outcomes pass false (see observeEngineEvent).
   */
  afterAccept?: boolean;
  /** epoch ms */
  at?: number;
}

/** A protection pause lasts until lifted: far enough to be "until lifted", finite as health.suspend wants. */
const PAUSE_MS = 10 * 365 * 24 * 3600 * 1000;
/** Every suspension protection sets starts with this, so lifting resumes only its own. */
export const PROTECTION_REASON_PREFIX = 'Protection: ';
/**
 * The alert mail of a paused server waits this long before it is routed: the pause is then seen by
 * every process's health snapshot (engine/sending-engine.ts reads it again at least every second),
 * so the mail never goes out through the server being paused.
 */
const ALERT_MAIL_DELAY_MS = 2500;

const isOutcome = (value: unknown): value is ProtectionOutcome => PROTECTION_OUTCOMES.includes(value as ProtectionOutcome);

const evidenceText = (serverName: string, verdict: Verdict & { evidence: AlertEvidence }): string => {
  const { evidence } = verdict;
  const lines = [
    `Automatic protection acted on the SMTP server "${serverName}".`,
    '',
    `Rule: ${ruleLabel(verdict.rule)} above ${percent(verdict.threshold)}`,
    `Seen: ${percent(verdict.rate)} over the last ${evidence.sends} sends (window ${evidence.window}, judged from ${evidence.minSends} sends)`,
    `Counts in the window: ${PROTECTION_OUTCOMES.map((outcome) => `${outcome} ${evidence.counts[outcome]}`).join(', ')}`,
    verdict.action === 'pause'
      ? 'Action: the server is paused; it sends nothing until the alert is lifted.'
      : `Action: the server's weight is cut to ${percent(verdict.weightFactor ?? 0)} until the alert is lifted.`,
    `At: ${new Date(evidence.at).toISOString()}`,
  ];
  if (evidence.samples.length > 0) {
    lines.push('', 'Latest replies:');
    for (const sample of evidence.samples) lines.push(`  ${new Date(sample.at).toISOString()} ${sample.outcome}: ${sample.reply}`);
  }
  lines.push('', 'Lift it in the admin panel (Multi SMTP > Alerts) once the cause is fixed: one click resumes the server.');
  return lines.join('\n');
};

/**
 * Automatic protection (engine/protection.ts holds the window and the rules): observations in;
 * when a rate crosses its threshold, the server is paused or its weight cut through the engine's
 * health store, an alert is recorded and mailed to protection.alertEmails.
 */
const protection = ({ strapi }: { strapi: Core.Strapi }) => {
  const alerts = createAlertRepository(strapi);
  const servers = createServerRepository(strapi);
  const engineService = () => getService(strapi, 'engine');
  const config = () => getService(strapi, 'runtime').config();
  /** Observations and trips still running (tests and shutdown wait for them). */
  const pending = new Set<Promise<unknown>>();
  const handledBatches = new WeakMap<Promise<unknown>, Promise<void>>();

  let bound: { redis: unknown; store: WindowStore; monitor: ProtectionMonitor } | null = null;
  /** One store and monitor per Redis connection (a restarted engine has a new one). */
  const current = () => {
    const redis = engineService().redis();
    if (bound?.redis !== redis) {
      const store = createRedisWindowStore(redis, { keyPrefix: engineService().keyPrefix() });
      const monitor = createProtectionMonitor({
        store,
        settings: () => settingsOf(config().protection),
        trip,
        clock: () => engineService().get().now(),
      });
      bound = { redis, store, monitor };
    }
    return bound;
  };

  const track = <T>(promise: Promise<T>): Promise<T> => {
    pending.add(promise);
    promise.finally(() => pending.delete(promise)).catch(() => undefined);
    return promise;
  };

  /** Where the alert mail goes through: the alert group, avoiding the server being paused. */
  const alertRoute = async (pausedServerId: string | null): Promise<SendOptions> => {
    const { protection: settings, defaultGroup } = config();
    const { servers: serverList, groups } = await engineService().directorySource.load();
    const slug = settings.alertGroup ?? defaultGroup;
    const group = (slug ? groups.find((entry) => entry.slug === slug) : undefined) ?? groups.find((entry) => entry.isDefault);
    const base: SendOptions = { source: 'protection', ...(group ? { group: group.slug } : {}) };
    if (!pausedServerId) return base;
    const enabled = new Set(serverList.filter((server) => server.enabled).map((server) => server.id));
    if (group?.serverIds.some((id) => id !== pausedServerId && enabled.has(id))) {
      return { ...base, sendAt: engineService().get().now() + ALERT_MAIL_DELAY_MS };
    }
    // The alert group has no other server: any other one that is not suspended.
    const candidates = [...enabled].filter((id) => id !== pausedServerId);
    const health = await engineService().get().health.getMany(candidates);
    const other = candidates.find((id) => health.get(id)?.state === 'closed');
    return other ? { source: 'protection', server: other } : base;
  };

  const sendAlertMail = async (alert: AlertEntity, serverName: string, verdict: Verdict & { evidence: AlertEvidence }) => {
    const to = config().protection.alertEmails;
    if (to.length === 0) return;
    try {
      const options = await alertRoute(verdict.action === 'pause' ? alert.serverDocumentId : null);
      const queued = await getService(strapi, 'mailer').send(
        { to, subject: `[Multi SMTP] ${serverName}: ${alert.summary ?? summaryOf(verdict)}`, text: evidenceText(serverName, verdict) },
        options
      );
      await alerts.setEmailMessageId(alert.documentId, queued.id);
    } catch (error) {
      strapi.log.error(`[multi-smtp] protection: mailing the alert about ${serverName} failed: ${(error as Error).message}`);
    }
  };

  /** The rule crossed and this process claimed it: act, record, mail. */
  async function trip(serverId: string, verdict: Verdict & { evidence: AlertEvidence }): Promise<void> {
    const active = await alerts.findActive([serverId]);
    // Already raised (the Redis trip flag was lost, e.g. Redis flushed): once is enough.
    if (active.some((alert) => alert.rule === verdict.rule)) return;
    const server = await servers.findOne(serverId);
    const serverName = server?.name ?? serverId;
    const summary = summaryOf(verdict);
    const health = engineService().get().health;
    const now = engineService().get().now();
    if (verdict.action === 'pause') {
      await health.suspend(serverId, now + PAUSE_MS, `${PROTECTION_REASON_PREFIX}${summary}`, 'rule', now);
    } else {
      const existing = (await health.get(serverId, now)).weightFactor ?? 1;
      await health.setWeightFactor(serverId, Math.min(existing, verdict.weightFactor ?? 1), now);
    }
    engineService().invalidate();
    const alert = await alerts.create({
      serverDocumentId: serverId,
      serverName,
      rule: verdict.rule,
      action: verdict.action,
      summary,
      evidence: verdict.evidence,
      emailedTo: config().protection.alertEmails,
    });
    strapi.log.warn(`[multi-smtp] protection: ${serverName}: ${summary}`);
    try {
      strapi.eventHub.emit('multi-smtp.protection.alert', { alert: { documentId: alert.documentId, serverId, serverName, rule: verdict.rule, action: verdict.action, summary } });
    } catch (error) {
      strapi.log.warn(`[multi-smtp] an event listener failed: ${(error as Error).message}`);
    }
    await sendAlertMail(alert, serverName, verdict);
  }

  const observe = (input: ProtectionObservation): Promise<void> => {
    if (!input || typeof input.serverId !== 'string' || !input.serverId || !isOutcome(input.outcome)) {
      return Promise.resolve();
    }
    if (!config().protection.enabled) return Promise.resolve();
    const afterAccept = input.afterAccept ?? (input.outcome !== 'accepted' && input.outcome !== 'failed');
    let run: Promise<unknown>;
    try {
      run = current().monitor.observe(input.serverId, { outcome: input.outcome, reply: input.reply ?? null, afterAccept, at: input.at });
    } catch (error) {
      // The engine is not running (boot, shutdown): nothing to observe with.
      run = Promise.reject(error);
    }
    // Observations of one batch share its promise: handled (and tracked) once per batch.
    let handled = handledBatches.get(run);
    if (!handled) {
      handled = track(
        run.then(
          () => undefined,
          (error: Error) => {
            strapi.log.error(`[multi-smtp] protection: observing outcomes on ${input.serverId} failed: ${error.message}`);
          }
        )
      );
      handledBatches.set(run, handled);
    }
    return handled;
  };

  return {
    /**
     * One outcome of a server. Cheap (one Redis script; commands of the same tick share a round
     * trip) and never rejects: a failure is logged. Resolves once any action it triggered is taken.
     */
    observe,

    /**
     * The sending engine's events (services/engine.ts onEvent): 'sent' -> accepted, 'bounced' ->
     * hardBounce (a synchronous 5.x.x refusal), 'failed' -> failed, 'deferred' by the recipient ->
     * softBounce, each on the server of the attempt that decided it.
     */
    observeEngineEvent(event: EngineEvent, entry: MessageLogEntry): void {
      const observed = outcomeOfEngineEvent(event, entry);
      if (observed) void observe({ ...observed, afterAccept: false, at: entry.finishedAt ?? undefined });
    },

    /**
     * Undoes an alert's action (called by the alerts service once the alert is marked lifted):
     * starts the server's window afresh, un-trips the rule, and resumes the server / restores its
     * weight unless another active alert of the server still calls for it.
     */
    async release(alert: Pick<AlertEntity, 'serverDocumentId' | 'rule' | 'action'>): Promise<void> {
      const serverId = alert.serverDocumentId;
      const remaining = (await alerts.findActive([serverId])).filter((other) => other.rule !== alert.rule);
      await current().store.reset(serverId, [alert.rule]);
      const health = engineService().get().health;
      const now = engineService().get().now();
      let resumed = false;
      if (alert.action === 'pause' && !remaining.some((other) => other.action === 'pause')) {
        const state = await health.get(serverId, now);
        if (state.suspendedUntil !== null && state.reason?.startsWith(PROTECTION_REASON_PREFIX)) {
          // resume() forgets everything, a weight factor too: put back one that another alert still holds.
          await health.resume(serverId);
          const factors = remaining.filter((other) => other.action === 'reduce-weight').map((other) => other.evidence?.weightFactor ?? 1);
          if (factors.length > 0) await health.setWeightFactor(serverId, Math.min(...factors), now);
          resumed = true;
        }
      }
      if (alert.action === 'reduce-weight') {
        const factors = remaining.filter((other) => other.action === 'reduce-weight').map((other) => other.evidence?.weightFactor ?? 1);
        await health.setWeightFactor(serverId, factors.length > 0 ? Math.min(...factors) : null, now);
      }
      engineService().invalidate();
      // Mail waiting for the paused server goes now, not at its next look.
      if (resumed) await engineService().get().wakeSuspended();
    },

    /** A server's window as it is now (counts, sends, tripped rules). */
    window(serverId: string): Promise<WindowState> {
      return current().store.read(serverId);
    },

    /** Forgets a server's window and trips (tests; a deleted server). */
    reset(serverId: string, rules: ProtectionRuleId[] = ['bounceRate', 'complaintRate', 'failureRate']): Promise<void> {
      return current().store.reset(serverId, rules);
    },

    /** Resolves when every observation so far, and what it triggered, is done. */
    async idle(): Promise<void> {
      bound?.monitor.flushAll();
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
};

export type ProtectionService = ReturnType<typeof protection>;
export default protection;
