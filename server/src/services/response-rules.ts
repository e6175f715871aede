import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import {
  customRuleId,
  responseRuleSchema,
  shippedRuleToggleSchema,
  type CustomResponseRule,
  type ResponseRuleData,
  type ResponseRulesList,
  type ShippedResponseRule,
} from '../../../shared/contracts/response-rules';
import { compileRules, DEFAULT_RESPONSE_RULES, type HealthStore, type ResponseRule } from '../engine/health';
import { createResponseRuleRepository, type ResponseRuleEntity } from '../repositories/response-rules';
import { getService } from '../utils/get-service';
import { createVersionedReload } from '../utils/versioned-reload';
import { parseInput } from '../utils/validation';

/**
 * Response rules: the shipped ones (engine/health.ts, read-only, each can be turned off) and the
 * admin's own (rows of the response-rule content type). The engine's health tracker matches replies
 * against the enabled ones; it gets them when the engine starts (`attach()`), and they are kept
 * current on every node by utils/versioned-reload.ts (at once on the node that made a change, within
 * seconds on the others), like the sending domains.
 */

const numberOrNull = (value: number | string | null): number | null =>
  value === null || value === '' ? null : Number(value);

const shippedDto = (rule: ResponseRule, enabled: boolean): ShippedResponseRule => ({
  ruleId: rule.id,
  pattern: rule.pattern,
  action: rule.action,
  durationSec: Math.round(rule.durationMs / 1000),
  ratePerSecond: rule.ratePerSecond ?? null,
  thresholdCount: rule.threshold?.count ?? null,
  thresholdWindowSec: rule.threshold ? Math.round(rule.threshold.windowMs / 1000) : null,
  description: rule.description,
  enabled,
});

const customDto = (row: ResponseRuleEntity): CustomResponseRule => ({
  documentId: row.documentId,
  ruleId: customRuleId(row.documentId),
  pattern: row.pattern ?? '',
  action: row.action ?? 'suspend',
  durationSec: row.durationSec ?? 0,
  ratePerSecond: numberOrNull(row.ratePerSecond),
  thresholdCount: row.thresholdCount,
  thresholdWindowSec: row.thresholdWindowSec,
  description: row.description ?? '',
  enabled: row.enabled !== false,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

/** A custom row as the engine's rule. */
const engineRuleOf = (row: CustomResponseRule): ResponseRule => ({
  id: row.ruleId,
  pattern: row.pattern,
  action: row.action,
  durationMs: row.durationSec * 1000,
  ...(row.action === 'throttle' && row.ratePerSecond !== null ? { ratePerSecond: row.ratePerSecond } : {}),
  ...(row.thresholdCount !== null && row.thresholdWindowSec !== null
    ? { threshold: { count: row.thresholdCount, windowMs: row.thresholdWindowSec * 1000 } }
    : {}),
  description: row.description,
});

const writeOf = (data: ResponseRuleData) => ({
  pattern: data.pattern,
  action: data.action,
  durationSec: data.durationSec,
  ratePerSecond: data.action === 'throttle' ? data.ratePerSecond : null,
  thresholdCount: data.thresholdCount,
  thresholdWindowSec: data.thresholdWindowSec,
  description: data.description,
  enabled: data.enabled,
});

const responseRules = ({ strapi }: { strapi: Core.Strapi }) => {
  const repository = createResponseRuleRepository(strapi);
  const engine = () => getService(strapi, 'engine');
  const warn = (message: string) => strapi.log.warn(`[multi-smtp] response rules: ${message}`);

  let target: HealthStore | null = null;
  const warnedRules = new Set<string>();

  const listAll = async (): Promise<ResponseRulesList> => {
    const rows = await repository.findAll();
    const shippedOff = new Set(
      rows.filter((row) => row.kind === 'shipped' && row.enabled === false).map((row) => row.shippedId)
    );
    return {
      shipped: DEFAULT_RESPONSE_RULES.map((rule) => shippedDto(rule, !shippedOff.has(rule.id))),
      custom: rows.filter((row) => row.kind === 'custom').map(customDto),
    };
  };

  /** The enabled rules, shipped then custom; a stored rule the engine refuses is left out (and said once). */
  const enabledRules = async (): Promise<ResponseRule[]> => {
    const { shipped, custom } = await listAll();
    const rules: ResponseRule[] = DEFAULT_RESPONSE_RULES.filter((rule) =>
      shipped.some((entry) => entry.ruleId === rule.id && entry.enabled)
    );
    for (const row of custom.filter((entry) => entry.enabled)) {
      const rule = engineRuleOf(row);
      try {
        compileRules([rule]);
        rules.push(rule);
        warnedRules.delete(rule.id);
      } catch (error) {
        if (!warnedRules.has(rule.id)) warn(`rule ${rule.id} is left out: ${(error as Error).message}`);
        warnedRules.add(rule.id);
      }
    }
    return rules;
  };

  const load = async () => {
    if (!target) return;
    target.setRules(await enabledRules());
  };

  const reloads = createVersionedReload({
    versionKey: () => `${engine().keyPrefix()}:response-rules:version`,
    redis: () => engine().redis(),
    running: () => engine().isRunning(),
    load,
    warn,
  });

  const requireCustom = async (documentId: string): Promise<ResponseRuleEntity> => {
    const row = await repository.findOne(documentId);
    if (!row || row.kind !== 'custom') throw new errors.NotFoundError(`Response rule ${documentId} not found`);
    return row;
  };

  return {
    list: listAll,

    async get(documentId: string): Promise<CustomResponseRule> {
      return customDto(await requireCustom(documentId));
    },

    async create(input: unknown): Promise<CustomResponseRule> {
      const data = parseInput(responseRuleSchema, input);
      const created = await repository.create({ kind: 'custom', shippedId: null, ...writeOf(data) });
      await reloads.changed();
      return customDto(created);
    },

    async update(documentId: string, input: unknown): Promise<CustomResponseRule> {
      const data = parseInput(responseRuleSchema, input);
      await requireCustom(documentId);
      const updated = await repository.update(documentId, writeOf(data));
      await reloads.changed();
      return customDto(updated);
    },

    async delete(documentId: string): Promise<void> {
      await requireCustom(documentId);
      await repository.delete(documentId);
      await reloads.changed();
    },

    /** Turns a shipped rule on or off (its switch is a row of its own, made on first use). */
    async setShipped(ruleId: string, input: unknown): Promise<ShippedResponseRule> {
      const { enabled } = parseInput(shippedRuleToggleSchema, input);
      const rule = DEFAULT_RESPONSE_RULES.find((entry) => entry.id === ruleId);
      if (!rule) throw new errors.NotFoundError(`Shipped response rule ${ruleId} not found`);
      const row = await repository.findShipped(ruleId);
      if (row) await repository.update(row.documentId, { enabled });
      else await repository.create({ kind: 'shipped', shippedId: ruleId, enabled });
      await reloads.changed();
      return shippedDto(rule, enabled);
    },

    /**
     * Called once when the engine starts (services/engine.ts): gives its health tracker the enabled
     * rules now and keeps them current while the engine runs (see the top of this file).
     */
    attach(health: HealthStore): void {
      target = health;
      reloads.start('loading failed (the shipped rules apply meanwhile)');
    },

    /** Waits for the loads asked for so far (engine start, tests). */
    async ready(): Promise<void> {
      await reloads.ready();
    },
  };
};

export type ResponseRulesService = ReturnType<typeof responseRules>;
export default responseRules;
