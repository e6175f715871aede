import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import { audienceSchema, type Audience, type AudienceCount } from '../../../shared/contracts/audiences';
import {
  createCampaignSchema,
  listCampaignsQuerySchema,
  previewCampaignSchema,
  scheduleCampaignSchema,
  testSendCampaignSchema,
  updateCampaignSchema,
  validateTemplateSchema,
  type Campaign,
  type CampaignPreview,
  type CampaignProgress,
  type CampaignStatus,
  type SegmentRouting,
  type TemplateIssue,
  type TestSendResponse,
  type TestSendResult,
  type ValidateTemplateResult,
} from '../../../shared/contracts/campaigns';
import type { ListResponse } from '../../../shared/contracts/common';
import {
  allowedActions,
  deleteRefusal,
  editRefusal,
  isEditable,
  LifecycleError,
  nextStatus,
  type LifecycleEvent,
} from '../engine/campaign-lifecycle';
import {
  computeProgress,
  finishedOf,
  MAX_SAMPLES,
  RATE_FALLBACK_MS,
  rateFromSamples,
  shouldSample,
  type CampaignCounts,
  type ProgressSample,
} from '../engine/campaign-progress';
import { NO_SEGMENT } from '../engine/fan-out';
import type { OutgoingMessageInput } from '../engine/message';
import { segmentMatcher } from '../engine/segments';
import { MessageValidationError } from '../engine/sending-engine';
import { createTemplateEngine, TemplateError, validateTemplate, type CampaignContent, type RecipientData } from '../engine/template';
import { createCampaignRepository, type CampaignEntity } from '../repositories/campaigns';
import { createGroupRepository } from '../repositories/groups';
import { createServerRepository } from '../repositories/servers';
import { getService } from '../utils/get-service';
import { ConflictError } from '../utils/http-errors';
import { fieldError, parseInput, throwFieldErrors } from '../utils/validation';
import type { FieldError } from '../../../shared/contracts/common';
import { toGroupRef } from './mappers';
import { NON_SUBSCRIBER_ID } from './unsubscribe';

/** Fields that may change whatever the status: they do not change what is sent. */
const ALWAYS_EDITABLE = new Set(['name', 'tags']);
const TEST_SUBJECT_PREFIX = '[Test] ';
/** Stands in for a recipient when a preview names none. */
const SAMPLE_RECIPIENT: RecipientData = { email: 'preview@example.com', name: 'Preview', attributes: {} };

/** A template problem as a 400 whose details name the part, line and column. */
const throwTemplateErrors = (issues: TemplateIssue[]): never => {
  const fieldErrors = issues.map((issue) => ({
    path: [issue.field],
    message: issue.line === undefined ? issue.message : `line ${issue.line}, column ${issue.column ?? 1}: ${issue.message}`,
    name: 'TemplateError',
    line: issue.line,
    column: issue.column,
  }));
  const described = fieldErrors.map((error) => `${error.path[0]}: ${error.message}`).join('; ');
  throw new errors.ValidationError(`Template error: ${described}`, { errors: fieldErrors });
};

const contentOf = (campaign: Pick<CampaignEntity, 'subject' | 'preheader' | 'html' | 'text'>): CampaignContent => ({
  subject: campaign.subject ?? '',
  preheader: campaign.preheader,
  html: campaign.html ?? '',
  text: campaign.text,
});

const toCampaignDto = (campaign: CampaignEntity, progress: CampaignProgress): Campaign => ({
  documentId: campaign.documentId,
  name: campaign.name,
  subject: campaign.subject ?? null,
  preheader: campaign.preheader ?? null,
  fromName: campaign.fromName ?? null,
  fromAddress: campaign.fromAddress ?? null,
  replyTo: campaign.replyTo ?? null,
  html: campaign.html ?? null,
  text: campaign.text ?? null,
  group: toGroupRef(campaign.group),
  audience: campaign.audience ?? null,
  segmentRouting: campaign.segmentRouting ?? null,
  status: campaign.status,
  scheduledAt: campaign.scheduledAt ?? null,
  trackOpens: campaign.trackOpens ?? false,
  trackClicks: campaign.trackClicks ?? false,
  tags: campaign.tags ?? [],
  totalRecipients: campaign.totalRecipients ?? 0,
  queuedCount: campaign.queuedCount ?? 0,
  sentCount: campaign.sentCount ?? 0,
  failedCount: campaign.failedCount ?? 0,
  bouncedCount: campaign.bouncedCount ?? 0,
  skippedCount: campaign.skippedCount ?? 0,
  startedAt: campaign.startedAt ?? null,
  completedAt: campaign.completedAt ?? null,
  lastError: campaign.lastError ?? null,
  createdAt: campaign.createdAt,
  updatedAt: campaign.updatedAt,
  editable: isEditable(campaign.status),
  actions: allowedActions(campaign.status),
  progress,
});

/**
 * Campaigns: CRUD, the lifecycle (start, schedule, pause, resume, cancel), progress, preview, test
 * sends and the template check. Status changes go through the table in engine/campaign-lifecycle.ts
 * and a conditional update, then to the Redis state the sending workers read.
 */
const campaigns = ({ strapi }: { strapi: Core.Strapi }) => {
  const repository = createCampaignRepository(strapi);
  const groupRepository = createGroupRepository(strapi);
  const serverRepository = createServerRepository(strapi);
  const templates = createTemplateEngine();
  const engineService = () => getService(strapi, 'engine');

  const requireCampaign = async (documentId: string): Promise<CampaignEntity> => {
    const campaign = await repository.findOne(documentId);
    if (!campaign) throw new errors.NotFoundError(`Campaign ${documentId} not found`);
    return campaign;
  };

  const conflict = (error: LifecycleError | string): never => {
    const message = typeof error === 'string' ? error : error.message;
    throw new ConflictError(message, typeof error === 'string' ? {} : { status: error.from, action: error.event });
  };

  // ---- progress -------------------------------------------------------------------------------

  const samplesKey = (documentId: string) => `${engineService().keyPrefix()}:campaign:${documentId}:rate`;

  const liveCounts = async (documentId: string): Promise<CampaignCounts | null> => {
    try {
      return await engineService().get().campaignCounts(documentId);
    } catch (error) {
      strapi.log.warn(`[multi-smtp] campaign ${documentId}: live counters unavailable: ${(error as Error).message}`);
      return null;
    }
  };

  /** Records the finished count now and then (shared by every process), and gives the rate. */
  const sampleRate = async (documentId: string, finished: number): Promise<number> => {
    const redis = engineService().redis();
    const key = samplesKey(documentId);
    const current: ProgressSample = { at: Date.now(), finished };
    const samples = (await redis.lrange(key, 0, MAX_SAMPLES - 1)).map((raw) => {
      const [at, count] = raw.split(':');
      return { at: Number(at), finished: Number(count) };
    });
    if (shouldSample(samples, current)) {
      await redis
        .multi()
        .lpush(key, `${current.at}:${current.finished}`)
        .ltrim(key, 0, MAX_SAMPLES - 1)
        .pexpire(key, RATE_FALLBACK_MS)
        .exec();
    }
    return rateFromSamples(samples, current);
  };

  const progressOf = async (campaign: CampaignEntity): Promise<CampaignProgress> => {
    const live = campaign.startedAt ? await liveCounts(campaign.documentId) : null;
    const sending = campaign.status === 'sending';
    const ratePerSec = sending && live ? await sampleRate(campaign.documentId, finishedOf(live)).catch(() => 0) : 0;
    return computeProgress({ status: campaign.status, stored: campaign, live, ratePerSec });
  };

  const toDto = async (campaign: CampaignEntity) => toCampaignDto(campaign, await progressOf(campaign));

  // ---- lifecycle ------------------------------------------------------------------------------

  /**
   * Moves the campaign from the status it was read in to `to`, only if no one changed it meanwhile;
   * then tells the workers (Redis state). Refused with 409 when it had changed.
   */
  const apply = async (campaign: CampaignEntity, to: CampaignStatus, data: Record<string, unknown> = {}): Promise<Campaign> => {
    const won = await repository.updateIfStatus(campaign.documentId, [campaign.status], { ...data, status: to });
    if (!won) {
      const now = await requireCampaign(campaign.documentId);
      conflict(`This campaign changed meanwhile: it is now ${now.status}. Reload it and try again`);
    }
    await getService(strapi, 'campaignState').set(campaign.documentId, to);
    return toDto(await requireCampaign(campaign.documentId));
  };

  const next = (campaign: CampaignEntity, event: LifecycleEvent, options: { scheduledAt?: string | null } = {}) => {
    try {
      return nextStatus(campaign.status, event, options);
    } catch (error) {
      if (error instanceof LifecycleError) return conflict(error);
      throw error;
    }
  };

  /**
   * A collection audience is checked when it is saved (type, fields, filters on known, non-private
   * attributes: 400 naming `audience.<field>`), so a draft never stores a filter on a password. A
   * lists audience is only shaped here; its lists are checked at start (they may be made later).
   */
  const checkCollectionAudience = async (audience: Audience | null | undefined): Promise<void> => {
    if (audience?.type === 'collection') await getService(strapi, 'audiences').validate(audience);
  };

  /** The group mail will go through must exist: the campaign's, else the default one. */
  const checkGroup = async (campaign: CampaignEntity): Promise<void> => {
    if (campaign.group) return;
    const configured = getService(strapi, 'runtime').config().defaultGroup;
    const fallback = configured ? await groupRepository.findBySlug(configured) : await groupRepository.findDefault();
    if (!fallback) fieldError('group', 'none is chosen and there is no default group');
  };

  /**
   * Every group a segment route names must exist: checked when saved, and again at start (a group
   * may have been deleted since). 400 naming `segmentRouting.routes.<n>.group`.
   */
  const checkSegmentGroups = async (routing: SegmentRouting | null | undefined): Promise<void> => {
    if (!routing) return;
    const missing: FieldError[] = [];
    for (const [index, route] of routing.routes.entries()) {
      if (!(await groupRepository.findOne(route.group))) {
        missing.push({ path: ['segmentRouting', 'routes', String(index), 'group'], message: 'does not exist', name: 'ValidationError' });
      }
    }
    if (missing.length) throwFieldErrors(missing);
  };

  /**
   * The slug of the group a recipient's segment sends through (as the real send would route them),
   * or null for the campaign's own group: no segment routing, or no route for these attributes (a
   * test send goes out even when the campaign would skip the recipient).
   */
  const segmentGroupOf = async (routing: SegmentRouting | null | undefined, attributes: Record<string, unknown> | undefined): Promise<string | null> => {
    if (!routing) return null;
    await checkSegmentGroups(routing);
    const index = segmentMatcher(routing)(attributes);
    const route = index === null || index === NO_SEGMENT ? undefined : routing.routes[index];
    return route ? ((await groupRepository.findOne(route.group))?.slug ?? null) : null;
  };

  /**
   * Everything a campaign needs before it may start or be scheduled: subject, sender, a body, an
   * audience with recipients, templates that compile and render, a group. 400 naming each field.
   */
  const checkReady = async (campaign: CampaignEntity): Promise<AudienceCount> => {
    const missing: FieldError[] = [];
    const need = (field: string, present: unknown, message = 'is required to start the campaign') => {
      if (!present) missing.push({ path: [field], message, name: 'ValidationError' });
    };
    need('subject', campaign.subject?.trim());
    need('fromAddress', campaign.fromAddress);
    need('html', campaign.html?.trim() || campaign.text?.trim(), 'is required to start the campaign (or a text body)');
    need('audience', campaign.audience);
    if (missing.length) throwFieldErrors(missing);

    const issues = validateTemplate(contentOf(campaign));
    if (issues.length) throwTemplateErrors(issues);
    await checkGroup(campaign);
    await checkSegmentGroups(campaign.segmentRouting);

    const audience = audienceSchema.safeParse(campaign.audience);
    if (!audience.success) fieldError('audience', `is not valid: ${audience.error.issues.map((issue) => issue.message).join('; ')}`);
    const count = await getService(strapi, 'audiences').count(audience.data!);
    if (count.recipients <= 0) {
      fieldError(
        'audience',
        count.matched > 0
          ? `has no one to send to: all ${count.matched} matching recipients would be skipped (suppressed, unsubscribed, invalid or duplicate)`
          : 'has no recipients'
      );
    }
    return count;
  };

  const startedData = (count: AudienceCount) => ({
    startedAt: new Date(),
    completedAt: null,
    lastError: null,
    totalRecipients: count.matched,
    queuedCount: 0,
    sentCount: 0,
    failedCount: 0,
    bouncedCount: 0,
    skippedCount: 0,
  });

  // ---- rendering ------------------------------------------------------------------------------

  /** Whose data a preview or test send renders with: a subscriber, sample data, or a stand-in. */
  const recipientFor = async (
    subscriberId: string | undefined,
    sample: { email?: string; name: string | null; attributes: Record<string, unknown> } | undefined,
    fallback: RecipientData
  ): Promise<{ data: RecipientData; subscriberId: string | null }> => {
    if (subscriberId) {
      const subscriber = await repository.findSubscriber(subscriberId);
      if (!subscriber) return fieldError('subscriberId', 'does not exist');
      return {
        data: { email: subscriber.email, name: subscriber.name, attributes: subscriber.attributes ?? {} },
        subscriberId: subscriber.documentId,
      };
    }
    if (sample) return { data: { email: sample.email ?? fallback.email, name: sample.name, attributes: sample.attributes }, subscriberId: null };
    return { data: fallback, subscriberId: null };
  };

  const compile = (content: CampaignContent) => {
    try {
      return templates.compile(content);
    } catch (error) {
      if (error instanceof TemplateError) return throwTemplateErrors(error.errors);
      throw error;
    }
  };

  const render = (compiled: ReturnType<typeof compile>, context: Parameters<ReturnType<typeof compile>['renderSync']>[0]) => {
    try {
      return compiled.renderSync(context);
    } catch (error) {
      if (error instanceof TemplateError) return throwTemplateErrors(error.errors);
      throw error;
    }
  };

  return {
    async list(query: unknown): Promise<ListResponse<Campaign>> {
      const { page, pageSize, sort, q, status } = parseInput(listCampaignsQuerySchema, query);
      const filters: Record<string, unknown> = {};
      if (q) filters.$or = [{ name: { $containsi: q } }, { subject: { $containsi: q } }];
      if (status) filters.status = { $in: status };
      const { results, total } = await repository.findPage({ filters, sort, start: (page - 1) * pageSize, limit: pageSize });
      return {
        data: await Promise.all(results.map(toDto)),
        meta: { pagination: { page, pageSize, pageCount: Math.ceil(total / pageSize), total } },
      };
    },

    async get(documentId: string): Promise<Campaign> {
      return toDto(await requireCampaign(documentId));
    },

    async create(input: unknown): Promise<Campaign> {
      const data = parseInput(createCampaignSchema, input);
      if (data.group && !(await groupRepository.findOne(data.group))) fieldError('group', 'does not exist');
      await checkSegmentGroups(data.segmentRouting);
      await checkCollectionAudience(data.audience);
      return toDto(await repository.create({ ...data, status: 'draft' }));
    },

    /** Name and tags may change at any time; everything else only in draft or scheduled (else 409). */
    async update(documentId: string, input: unknown): Promise<Campaign> {
      const data = parseInput(updateCampaignSchema, input);
      if (data.group && !(await groupRepository.findOne(data.group))) fieldError('group', 'does not exist');
      await checkSegmentGroups(data.segmentRouting);
      await checkCollectionAudience(data.audience);
      const changesContent = Object.keys(data).some((key) => !ALWAYS_EDITABLE.has(key));
      return strapi.db.transaction(async () => {
        const current = await requireCampaign(documentId);
        if (changesContent) {
          const refusal = editRefusal(current.status);
          if (refusal) conflict(refusal);
          if (current.status === 'scheduled' && data.scheduledAt !== undefined) {
            if (!data.scheduledAt) fieldError('scheduledAt', 'cannot be removed while scheduled: unschedule the campaign instead');
            else if (Date.parse(data.scheduledAt) <= Date.now()) fieldError('scheduledAt', 'must be in the future');
          }
          // Holds the row (and re-checks the status) so a concurrent start waits for this edit.
          if (!(await repository.updateIfStatus(documentId, ['draft', 'scheduled'], {}))) {
            conflict(editRefusal((await requireCampaign(documentId)).status) ?? 'This campaign changed meanwhile');
          }
        }
        return toDto(await repository.update(documentId, data));
      });
    },

    /** Only draft, completed, cancelled or failed campaigns (409 otherwise). */
    async delete(documentId: string): Promise<void> {
      await strapi.db.transaction(async () => {
        const current = await requireCampaign(documentId);
        const refusal = deleteRefusal(current.status);
        if (refusal) conflict(refusal);
        if (!(await repository.updateIfStatus(documentId, [current.status], {}))) conflict('This campaign changed meanwhile; reload it');
        await repository.delete(documentId);
      });
      await Promise.all([
        getService(strapi, 'campaignState').clear(documentId),
        engineService().get().clearCampaign(documentId),
        engineService().redis().del(samplesKey(documentId)),
      ]).catch((error) => strapi.log.warn(`[multi-smtp] campaign ${documentId} deleted; Redis keys left: ${(error as Error).message}`));
    },

    /** Sends now, or schedules it when scheduledAt is in the future. */
    async start(documentId: string): Promise<Campaign> {
      const campaign = await requireCampaign(documentId);
      const to = next(campaign, 'start', { scheduledAt: campaign.scheduledAt });
      const count = await checkReady(campaign);
      return apply(campaign, to, to === 'sending' ? startedData(count) : {});
    },

    async schedule(documentId: string, input: unknown): Promise<Campaign> {
      const { scheduledAt } = parseInput(scheduleCampaignSchema, input);
      if (Date.parse(scheduledAt) <= Date.now()) fieldError('scheduledAt', 'must be in the future (use start to send now)');
      const campaign = await requireCampaign(documentId);
      const to = next(campaign, 'schedule');
      await checkReady(campaign);
      return apply(campaign, to, { scheduledAt });
    },

    /** Back to draft; the date is cleared. */
    async unschedule(documentId: string): Promise<Campaign> {
      const campaign = await requireCampaign(documentId);
      return apply(campaign, next(campaign, 'unschedule'), { scheduledAt: null });
    },

    async pause(documentId: string): Promise<Campaign> {
      const campaign = await requireCampaign(documentId);
      return apply(campaign, next(campaign, 'pause'));
    },

    async resume(documentId: string): Promise<Campaign> {
      const campaign = await requireCampaign(documentId);
      return apply(campaign, next(campaign, 'resume'));
    },

    /** Stops it for good: messages still queued are skipped by the workers. */
    async cancel(documentId: string): Promise<Campaign> {
      const campaign = await requireCampaign(documentId);
      return apply(campaign, next(campaign, 'cancel'), { completedAt: new Date() });
    },

    /**
     * For the runner: the scheduler's dispatch (scheduled -> sending), complete and fail, through
     * the same table and conditional update. Null when the campaign is not in a status the event
     * applies to (another process took it first).
     */
    async transition(documentId: string, event: 'dispatch' | 'complete' | 'fail', data: Record<string, unknown> = {}): Promise<Campaign | null> {
      const campaign = await repository.findOne(documentId);
      if (!campaign) return null;
      let to: CampaignStatus;
      try {
        to = nextStatus(campaign.status, event);
      } catch (error) {
        if (error instanceof LifecycleError) return null;
        throw error;
      }
      const extra = event === 'dispatch' ? { startedAt: new Date() } : { completedAt: new Date() };
      try {
        return await apply(campaign, to, { ...extra, ...data });
      } catch (error) {
        if (error instanceof ConflictError) return null;
        throw error;
      }
    },

    async progress(documentId: string): Promise<CampaignProgress> {
      return progressOf(await requireCampaign(documentId));
    },

    /** The editor's live check: every template problem with its part, line and column (200 either way). */
    validateTemplate(input: unknown): ValidateTemplateResult {
      const content = parseInput(validateTemplateSchema, input);
      const issues = validateTemplate({
        subject: content.subject ?? '',
        preheader: content.preheader,
        html: content.html ?? '',
        text: content.text,
      });
      return { ok: issues.length === 0, errors: issues };
    },

    /** Renders the campaign (or unsaved `content`) for a subscriber or sample data. */
    async preview(documentId: string, input: unknown): Promise<CampaignPreview> {
      const { subscriberId, sampleData, content } = parseInput(previewCampaignSchema, input);
      const campaign = await requireCampaign(documentId);
      const compiled = compile(contentOf({ ...campaign, ...content }));
      const recipient = await recipientFor(subscriberId, sampleData, SAMPLE_RECIPIENT);
      // An inert link: a working one would let a reader unsubscribe anyone whose address they type.
      const unsubscribeUrl = getService(strapi, 'unsubscribe').previewLink();
      const rendered = render(compiled, { recipient: recipient.data, campaign: { name: campaign.name }, unsubscribeUrl });
      return {
        ...rendered,
        recipient: { email: recipient.data.email, name: recipient.data.name ?? null, subscriberId: recipient.subscriberId },
      };
    },

    /**
     * Sends the campaign to test addresses now, one message each, rendered with a subscriber's data
     * or sample data, through a chosen server, else the group that data's segment routes to, else the
     * campaign's group. The subject starts with
     * "[Test] "; headers are those of real campaign mail. Not counted in the campaign's figures.
     */
    async testSend(documentId: string, input: unknown): Promise<TestSendResponse> {
      const { to, subscriberId, sampleData, server } = parseInput(testSendCampaignSchema, input);
      const campaign = await requireCampaign(documentId);
      const issues = validateTemplate(contentOf(campaign));
      if (issues.length) throwTemplateErrors(issues);
      if (!campaign.html?.trim() && !campaign.text?.trim()) fieldError('html', 'is required to send (or a text body)');
      if (server && !(await serverRepository.findOne(server))) fieldError('server', 'does not exist');
      if (!server) await checkGroup(campaign);

      const compiled = compile(contentOf(campaign));
      const recipient = await recipientFor(subscriberId, sampleData, { email: to[0]!, name: null, attributes: {} });
      const unsubscribe = getService(strapi, 'unsubscribe');
      const engine = engineService().get();
      const group = server ? undefined : ((await segmentGroupOf(campaign.segmentRouting, recipient.data.attributes)) ?? campaign.group?.slug);
      const options = { group, server, source: 'campaign-test' };

      // Rendered first, so a template that fails for this data sends nothing at all.
      const messages = to.map((address) => {
        // The link is the test address's own, as real campaign mail carries each recipient's.
        const unsubscribeUrl = unsubscribe.linkFor({ subscriberId: NON_SUBSCRIBER_ID, campaignId: documentId, email: address });
        const rendered = render(compiled, { recipient: recipient.data, campaign: { name: campaign.name }, unsubscribeUrl });
        const message: OutgoingMessageInput = {
          from: campaign.fromAddress ? { name: campaign.fromName ?? '', address: campaign.fromAddress } : undefined,
          to: address,
          replyTo: campaign.replyTo ?? undefined,
          subject: `${TEST_SUBJECT_PREFIX}${rendered.subject}`,
          html: rendered.html || undefined,
          text: rendered.text || undefined,
          headers: { ...unsubscribe.headersFor(unsubscribeUrl), 'X-Campaign-ID': documentId },
        };
        return { address, message };
      });

      const results = await Promise.all(
        messages.map(async ({ address, message }): Promise<TestSendResult> => {
          try {
            const report = await engine.sendNow(message, options);
            const accepted = report.status === 'sent' && report.rejectedRecipients.length === 0;
            return {
              to: address,
              accepted,
              status: report.status,
              reply: report.reply,
              server: report.server,
              messageId: report.id,
              error: accepted ? null : (report.reply ?? `not sent (${report.status})`),
            };
          } catch (error) {
            if (error instanceof MessageValidationError) {
              throwFieldErrors(error.errors.map((entry) => ({ ...entry, name: 'ValidationError' })));
            }
            return { to: address, accepted: false, status: 'failed', reply: null, server: null, messageId: null, error: (error as Error).message };
          }
        })
      );
      const subject = String(messages[0]?.message.subject ?? '');
      return { subject, results };
    },
  };
};

export type CampaignsService = ReturnType<typeof campaigns>;
export default campaigns;
