import { randomUUID } from 'node:crypto';

import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import { runsCampaignFanOut } from '../config/role';
import { campaignMessage } from '../engine/campaign-message';
import {
  emptyFanOutStats,
  runFanOut,
  type FanOutBatch,
  type FanOutCursor,
  type FanOutResult,
  type FanOutStats,
} from '../engine/fan-out';
import type { OutgoingMessageInput } from '../engine/message';
import type { CampaignRecipient } from '../engine/message-store';
import { MessageValidationError } from '../engine/sending-engine';
import { segmentMatcher } from '../engine/segments';
import { createTemplateEngine, TemplateError } from '../engine/template';
import { createCampaignRepository, type CampaignEntity } from '../repositories/campaigns';
import { createGroupRepository } from '../repositories/groups';
import { getService } from '../utils/get-service';
import { CAMPAIGN_UID } from '../utils/uids';

/**
 * Sends campaigns, in every Strapi process whose worker is enabled (or where `campaigns.fanOut` is
 * true: a node without queue workers fans out while standalone workers send). Once a second:
 *
 * 1. Scheduler: campaigns 'scheduled' whose time has come move to 'sending' (a conditional update:
 *    of several processes, one wins).
 * 2. Each 'sending' campaign that no process is working on gets a task here, under a Redis lock
 *    (`<prefix>:campaign:<id>:lock`, SET NX PX, renewed; a crashed holder's lock lapses after
 *    `worker.lockDurationMs`). The task compiles the template once, fans the audience out (see
 *    engine/fan-out.ts: pages, batches, checkpoint, back-pressure), copies the counters to the
 *    campaign row every 2 s, and marks the campaign completed once the audience is exhausted and
 *    nothing is in flight. An error of the campaign's own (the template fails for someone, the
 *    audience's type is gone, the engine refuses its sender) marks it failed with the message; an
 *    error of the infrastructure (Redis or the database away) is retried from the cursor for a
 *    while first. Neither takes the process down.
 *
 * A pause or cancel (Redis state, read at most 1 s late) stops the task between two pages; messages
 * already queued are held or skipped by the gate (services/campaign-gate.ts). A resume starts a new
 * task from the saved cursor. `stop()` (Strapi's destroy) ends every task after its current page.
 */

const TICK_MS = 1000;
const SYNC_EVERY_MS = 2000;
/** While waiting for the last messages of a campaign to finish. */
const DRAIN_POLL_MS = 500;
/** How long a campaign's compiled template is kept for the workers that render its messages. */
const RENDERER_TTL_MS = 60_000;
/**
 * Errors that are not the campaign's (Redis or the database away) are retried, after 1, 2, 4... s
 * (at most 30 s), for this long; then the campaign fails with the last one.
 */
const TRANSIENT_GIVE_UP_MS = 5 * 60_000;
const TRANSIENT_MAX_DELAY_MS = 30_000;

/**
 * An error that sending this campaign again cannot fix: its template fails for a recipient, its
 * audience no longer exists or is no longer valid, the engine refuses its messages (a bad sender).
 */
const isCampaignError = (error: unknown) =>
  error instanceof TemplateError || error instanceof MessageValidationError || error instanceof errors.ValidationError;

/** Renews the lock only while we still hold it; 1 when renewed. */
const RENEW_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What one task did, for logs and the benchmark. */
export interface FanOutReport {
  campaignId: string;
  outcome: FanOutResult['outcome'] | 'failed';
  stats: FanOutStats;
  cursor: FanOutCursor | null;
}

interface Task {
  campaignId: string;
  done: Promise<void>;
}

const campaignRunner = ({ strapi }: { strapi: Core.Strapi }) => {
  const repository = createCampaignRepository(strapi);
  const groupRepository = createGroupRepository(strapi);
  const templates = createTemplateEngine();
  const tasks = new Map<string, Task>();
  /** Campaigns whose last tasks failed for reasons not their own: since when, how often, when to try again. */
  const transient = new Map<string, { since: number; failures: number; retryAt: number }>();
  let timer: NodeJS.Timeout | null = null;
  let ticking: Promise<void> | null = null;
  let stopping = false;
  const listeners = new Set<(report: FanOutReport) => void>();

  const engineService = () => getService(strapi, 'engine');
  const config = () => getService(strapi, 'runtime').config();
  const keyOf = (campaignId: string, suffix: 'lock' | 'cursor') => `${engineService().keyPrefix()}:campaign:${campaignId}:${suffix}`;
  const log = (level: 'info' | 'warn' | 'error', message: string) => {
    strapi.log[level](`[multi-smtp] ${message}`);
  };

  // ---- lock ---------------------------------------------------------------------------------------

  const acquireLock = async (campaignId: string, token: string, ttlMs: number): Promise<boolean> =>
    (await engineService().redis().set(keyOf(campaignId, 'lock'), token, 'PX', ttlMs, 'NX')) === 'OK';

  const renewLock = async (campaignId: string, token: string, ttlMs: number): Promise<boolean> =>
    Number(await engineService().redis().eval(RENEW_SCRIPT, 1, keyOf(campaignId, 'lock'), token, String(ttlMs))) === 1;

  const releaseLock = async (campaignId: string, token: string) => {
    await engineService().redis().eval(RELEASE_SCRIPT, 1, keyOf(campaignId, 'lock'), token);
  };

  // ---- cursor and counters ------------------------------------------------------------------------

  const loadCursor = async (campaignId: string): Promise<FanOutCursor | null> => {
    const raw = await engineService().redis().get(keyOf(campaignId, 'cursor'));
    return raw ? (JSON.parse(raw) as FanOutCursor) : null;
  };

  const saveCursor = async (campaignId: string, cursor: FanOutCursor) => {
    await engineService().redis().set(keyOf(campaignId, 'cursor'), JSON.stringify(cursor));
  };

  /** The campaign's figures as the row stores them: the engine's counts, plus what the fan-out skipped before queueing. */
  const countersOf = async (campaignId: string) => {
    const [counts, cursor] = await Promise.all([engineService().get().campaignCounts(campaignId), loadCursor(campaignId)]);
    return {
      inFlight: counts.inFlight,
      cursor,
      data: {
        queuedCount: counts.queued,
        sentCount: counts.sent,
        failedCount: counts.failed,
        bouncedCount: counts.bounced,
        skippedCount: counts.skipped + (cursor?.skipped ?? 0),
      },
    };
  };

  const copyCounters = async (campaignId: string) => {
    const { data, inFlight, cursor } = await countersOf(campaignId);
    // Never over a completed row: its figures were written once and for all, and Redis is cleared.
    await strapi.db.query(CAMPAIGN_UID as never).updateMany({ where: { documentId: campaignId, status: { $ne: 'completed' } }, data });
    return { data, inFlight, cursor };
  };

  // ---- the task of one campaign -------------------------------------------------------------------

  /**
   * The campaign's segment routes with their groups' slugs, and the matcher that puts a recipient
   * in one; null without segment routing. A route's group deleted since the start fails the
   * campaign (a 400-kind error naming the route) rather than sending that part elsewhere.
   */
  const segmentsOf = async (campaign: CampaignEntity) => {
    const routing = campaign.segmentRouting;
    if (!routing) return null;
    const routes = await Promise.all(
      routing.routes.map(async (route, index) => {
        const group = await groupRepository.findOne(route.group);
        if (!group) {
          throw new errors.ValidationError(`segmentRouting.routes.${index}.group: the group of segment ${routing.attribute} = ${route.value} no longer exists`);
        }
        return { attribute: routing.attribute, value: route.value, groupSlug: group.slug };
      })
    );
    const matcher = segmentMatcher(routing);
    return { routes, segmentOf: (recipient: { attributes: Record<string, unknown> | null }) => matcher(recipient.attributes) };
  };

  const buildRenderer = (campaign: CampaignEntity) => {
    const compiled = templates.compile({
      subject: campaign.subject ?? '',
      preheader: campaign.preheader,
      html: campaign.html ?? '',
      text: campaign.text,
    });
    const unsubscribe = getService(strapi, 'unsubscribe');
    const context = { name: campaign.name };
    // Opens and clicks, when the campaign tracks them: links and pixel carry the message's own id.
    const track = getService(strapi, 'tracking').rewriterFor(campaign);
    return (recipient: CampaignRecipient & { subscriberId: string | null }, messageId: string): OutgoingMessageInput => {
      const link = unsubscribe.linkFor({ subscriberId: recipient.subscriberId ?? '', campaignId: campaign.documentId, email: recipient.email });
      const rendered = compiled.renderSync({
        recipient: { email: recipient.email, name: recipient.name, attributes: recipient.attributes },
        campaign: context,
        unsubscribeUrl: link,
      });
      if (track && rendered.html) rendered.html = track(rendered.html, messageId, [link]);
      const to = recipient.name ? { name: recipient.name, address: recipient.email } : recipient.email;
      return campaignMessage(campaign, to, rendered, unsubscribe.headersFor(link));
    };
  };

  /**
   * Renderers of the campaigns being sent, for the workers (messages are rendered when they are
   * sent: see renderMessage). A campaign's content cannot change while it sends, so one compiled
   * template serves all its messages; an entry is dropped after a while so a finished campaign
   * does not stay in memory.
   */
  const renderers = new Map<string, { render: ReturnType<typeof buildRenderer>; at: number }>();
  const rendererOf = async (campaignId: string) => {
    const cached = renderers.get(campaignId);
    if (cached && Date.now() - cached.at < RENDERER_TTL_MS) return cached.render;
    const campaign = await repository.findOne(campaignId);
    if (!campaign) throw new Error(`campaign ${campaignId} does not exist`);
    const render = buildRenderer(campaign);
    for (const [id, entry] of renderers) if (Date.now() - entry.at >= RENDERER_TTL_MS) renderers.delete(id);
    renderers.set(campaignId, { render, at: Date.now() });
    return render;
  };

  const fail = async (campaignId: string, error: unknown) => {
    const message =
      error instanceof TemplateError
        ? `The template failed while sending: ${error.message}`
        : `Sending stopped: ${error instanceof Error ? error.message : String(error)}`;
    log('error', `campaign ${campaignId} failed: ${message}`);
    try {
      const counters = await countersOf(campaignId).catch(() => null);
      await getService(strapi, 'campaigns').transition(campaignId, 'fail', { lastError: message.slice(0, 10_000), ...counters?.data });
    } catch (failure) {
      log('error', `campaign ${campaignId}: could not record the failure: ${(failure as Error).message}`);
    }
  };

  const complete = async (campaignId: string) => {
    const { data, cursor } = await countersOf(campaignId);
    const total = (cursor?.queued ?? 0) + (cursor?.skipped ?? 0);
    const done = await getService(strapi, 'campaigns').transition(campaignId, 'complete', { ...data, totalRecipients: total });
    if (done) {
      log('info', `campaign ${campaignId} completed: ${data.sentCount} sent, ${data.skippedCount} skipped, ${data.failedCount} failed, ${data.bouncedCount} bounced`);
      await engineService().redis().del(keyOf(campaignId, 'cursor'));
      await engineService().get().clearCampaign(campaignId);
    }
  };

  const runTask = async (campaignId: string): Promise<void> => {
    const lockMs = config().worker.lockDurationMs;
    const token = randomUUID();
    if (!(await acquireLock(campaignId, token, lockMs))) return; // another process has it
    let lockLost = false;
    const renewTimer = setInterval(() => {
      renewLock(campaignId, token, lockMs)
        .then((renewed) => {
          if (!renewed) lockLost = true;
        })
        .catch(() => undefined);
    }, Math.max(200, Math.floor(lockMs / 3)));
    let syncTimer: NodeJS.Timeout | null = null;
    let report: FanOutReport = { campaignId, outcome: 'stopped', stats: emptyFanOutStats(), cursor: null };

    const state = getService(strapi, 'campaignState');
    const shouldStop = async () => {
      if (stopping || lockLost) return true;
      const current = await state.get(campaignId);
      return current !== null && current !== 'sending';
    };

    try {
      const campaign = await repository.findOne(campaignId);
      if (!campaign || campaign.status !== 'sending') return;
      // The row is the record: a state lost from Redis (flushed) is written again.
      if ((await state.getFresh(campaignId)) === null) await state.set(campaignId, 'sending');
      if (!campaign.audience) throw new Error('the campaign has no audience');

      // Compiled once here so a template that does not compile fails the campaign before anything is queued.
      buildRenderer(campaign);
      const readPage = await getService(strapi, 'audiences').reader(campaign.audience);
      const suppressions = getService(strapi, 'suppressions');
      const engine = engineService().get();
      const { maxInFlight, pageSize, batchSize } = config().campaigns;
      const segments = await segmentsOf(campaign);
      const toCampaignBatch = ({ batchId, messages, segment }: FanOutBatch<CampaignRecipient>) => {
        const route = segment === undefined ? undefined : segments?.routes[segment];
        return {
          batchId,
          campaignId,
          group: route ? route.groupSlug : (campaign.group?.slug ?? undefined),
          ...(route ? { segment: { attribute: route.attribute, value: route.value } } : {}),
          // For the routing rules, when neither the campaign nor a segment names a group.
          tags: campaign.tags,
          from: campaign.fromAddress,
          messages: messages.map(({ id, subscriberId, message }) => ({ id, subscriberId, recipient: message })),
        };
      };

      syncTimer = setInterval(() => {
        copyCounters(campaignId).catch((error) => log('warn', `campaign ${campaignId}: counters not copied: ${(error as Error).message}`));
      }, SYNC_EVERY_MS);

      const result = await runFanOut<CampaignRecipient>(
        {
          campaignId,
          readPage: (after, limit, upTo) => readPage({ after, pageSize: limit, upTo }),
          filterSuppressed: (emails) => suppressions.filterSuppressed(emails),
          // The worker renders each message when it sends it (renderMessage): queued is the recipient.
          render: (recipient) => ({ email: recipient.email, name: recipient.name, attributes: recipient.attributes }),
          queueBatch: (batch) => engine.queueCampaignBatch(toCampaignBatch(batch)),
          // A page in one call: one script stores its batches, one pipeline adds their jobs.
          queueBatches: (batches) => engine.queueCampaignBatches(batches.map(toCampaignBatch)),
          ...(segments ? { segmentOf: segments.segmentOf } : {}),
          loadCursor: () => loadCursor(campaignId),
          // On the engine's command connection, as the batches' store script: a save is applied before
          // the batches queued after it, so the fan-out need not wait for it (fan-out.ts, saveCursor).
          saveCursor: (cursor) => saveCursor(campaignId, cursor),
          inFlight: async () => (await engine.campaignCounts(campaignId)).inFlight,
          shouldStop,
        },
        { maxInFlight, pageSize, batchSize }
      );
      report = { campaignId, outcome: result.outcome, stats: result.stats, cursor: result.cursor };

      if (result.outcome === 'done') {
        // Everything is queued: wait for the last messages to finish, then complete.
        while (!(await shouldStop())) {
          if ((await engine.campaignCounts(campaignId)).inFlight === 0) {
            clearInterval(syncTimer);
            await complete(campaignId);
            break;
          }
          await sleep(DRAIN_POLL_MS);
        }
      }
      transient.delete(campaignId);
    } catch (error) {
      const now = Date.now();
      const previous = transient.get(campaignId);
      const since = previous?.since ?? now;
      if (isCampaignError(error) || now - since >= TRANSIENT_GIVE_UP_MS) {
        transient.delete(campaignId);
        report = { ...report, outcome: 'failed' };
        await fail(campaignId, error);
      } else {
        // Taken up again from the saved cursor, after a growing pause.
        const failures = (previous?.failures ?? 0) + 1;
        const delay = Math.min(TRANSIENT_MAX_DELAY_MS, 1000 * 2 ** (failures - 1));
        transient.set(campaignId, { since, failures, retryAt: now + delay });
        log('warn', `campaign ${campaignId}: ${(error as Error).message} (trying again in ${delay / 1000} s)`);
      }
    } finally {
      clearInterval(renewTimer);
      if (syncTimer) clearInterval(syncTimer);
      // Last figures for a campaign that stopped (pause, cancel, shutdown); a completed one has its own.
      await copyCounters(campaignId).catch(() => undefined);
      await releaseLock(campaignId, token).catch(() => undefined);
      for (const listener of listeners) listener(report);
    }
  };

  const startTask = (campaignId: string) => {
    if (tasks.has(campaignId) || stopping) return;
    if ((transient.get(campaignId)?.retryAt ?? 0) > Date.now()) return;
    const done = runTask(campaignId)
      .catch((error) => log('error', `campaign ${campaignId}: ${(error as Error).message}`))
      .finally(() => tasks.delete(campaignId));
    tasks.set(campaignId, { campaignId, done });
  };

  // ---- the tick -----------------------------------------------------------------------------------

  /** Scheduled campaigns whose time has come: to 'sending' (one process wins each). */
  const dispatchDue = async () => {
    const due = (await strapi.db.query(CAMPAIGN_UID as never).findMany({
      where: { status: 'scheduled', scheduledAt: { $lte: new Date() } },
      select: ['documentId', 'audience'],
    })) as Pick<CampaignEntity, 'documentId' | 'audience'>[];
    for (const campaign of due) {
      if (stopping) return;
      const dispatched = await getService(strapi, 'campaigns').transition(campaign.documentId, 'dispatch', {
        completedAt: null,
        lastError: null,
        queuedCount: 0,
        sentCount: 0,
        failedCount: 0,
        bouncedCount: 0,
        skippedCount: 0,
      });
      if (!dispatched) continue; // another process took it
      log('info', `campaign ${campaign.documentId} started on schedule`);
      // An estimate for the progress bar until the fan-out has read everyone (counted by the winner
      // only, and not over the exact figure a completed campaign already has).
      const count = await getService(strapi, 'audiences')
        .count(campaign.audience)
        .catch(() => null);
      if (count) {
        await strapi.db
          .query(CAMPAIGN_UID as never)
          .updateMany({ where: { documentId: campaign.documentId, status: 'sending' }, data: { totalRecipients: count.matched } });
      }
    }
  };

  const tick = async () => {
    await dispatchDue();
    if (stopping) return;
    const sending = (await strapi.db.query(CAMPAIGN_UID as never).findMany({
      where: { status: 'sending' },
      select: ['documentId'],
    })) as { documentId: string }[];
    for (const { documentId } of sending) startTask(documentId);
  };

  const runTick = () => {
    if (ticking || stopping) return;
    ticking = tick()
      .catch((error) => log('error', `campaign runner: ${(error as Error).message}`))
      .finally(() => {
        ticking = null;
      });
  };

  return {
    /**
     * Renders one campaign message for the worker about to send it (EngineOptions.renderCampaignMessage).
     * A template that fails here (a limit hit by one recipient's data) fails the campaign: the
     * rest of it is skipped rather than sent half-broken.
     */
    async renderMessage(input: { campaignId: string; messageId: string; subscriberId: string | null; recipient: CampaignRecipient }): Promise<OutgoingMessageInput> {
      const render = await rendererOf(input.campaignId);
      try {
        return render({ ...input.recipient, subscriberId: input.subscriberId }, input.messageId);
      } catch (error) {
        if (error instanceof TemplateError) {
          renderers.delete(input.campaignId);
          await fail(input.campaignId, error);
        }
        throw error;
      }
    },

    start() {
      // Where queue workers run, unless campaigns.fanOut says otherwise (config/role.ts).
      if (timer || !runsCampaignFanOut(config())) return;
      stopping = false;
      timer = setInterval(runTick, TICK_MS);
      runTick();
    },

    /** Ends every task after its current page (cursor saved, lock released) and waits for them. */
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      timer = null;
      await ticking;
      await Promise.all([...tasks.values()].map((task) => task.done));
    },

    /** Runs one tick now (tests): the scheduler and the start of tasks. */
    async tickNow() {
      runTick();
      await ticking;
    },

    /** Campaigns this process is fanning out or draining. */
    activeCampaigns(): string[] {
      return [...tasks.keys()];
    },

    /** Called with each task's report when it ends (the benchmark reads its timings). */
    onReport(listener: (report: FanOutReport) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
};

export type CampaignRunnerService = ReturnType<typeof campaignRunner>;
export default campaignRunner;
