import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import {
  createRoutingRuleSchema,
  reorderRoutingRulesSchema,
  testRoutingSchema,
  updateRoutingRuleSchema,
  type RoutingRule as RoutingRuleDto,
  type RuleTarget,
  type TestedServer,
  type TestRoutingResult,
} from '../../../shared/contracts/routing-rules';
import type { Directory, GroupConfig } from '../engine/directory';
import { allowsFromDomain } from '../engine/from-domains';
import type { RoutingRule } from '../engine/routing-rules';
import { tagsOf } from '../engine/routing-rules';
import { MessageValidationError } from '../engine/sending-engine';
import { createRoutingRuleRepository, type RoutingRuleEntity } from '../repositories/routing-rules';
import { noParametersSchema } from '../../../shared/contracts/common';
import { getService } from '../utils/get-service';
import { fieldError, parseInput, throwFieldErrors } from '../utils/validation';

/**
 * Routing rules (issue 12, item 1): validation, order, the engine's view of them (loaded with the
 * directory, so an edit reaches every node like a server or group change: bootstrap subscribes the
 * rule rows to directorySync), and the "where would this message go?" tester, which asks the engine
 * for the same decision a message gets at intake.
 */
const routingRules = ({ strapi }: { strapi: Core.Strapi }) => {
  const repository = createRoutingRuleRepository(strapi);
  const engine = () => getService(strapi, 'engine').get();

  const targetName = (current: Directory | null, target: RuleTarget): string | null => {
    if (!current) return null;
    return target.kind === 'group' ? (current.groups.get(target.id)?.name ?? null) : (current.servers.get(target.id)?.name ?? null);
  };

  const toDto = (row: RoutingRuleEntity, current: Directory | null): RoutingRuleDto => {
    const target = { kind: row.targetKind, id: row.targetId };
    return {
      documentId: row.documentId,
      name: row.name,
      enabled: row.enabled,
      position: row.position,
      conditions: { tags: [], senders: [], recipientDomains: [], campaigns: [], segments: [], ...row.conditions },
      target: { ...target, name: targetName(current, target) },
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  };

  /** The directory when the engine runs (names of targets); rules are listed without them otherwise. */
  const currentDirectory = async () => {
    try {
      return await engine().directory();
    } catch {
      return null;
    }
  };

  const requireRule = async (documentId: string) => {
    const row = await repository.findOne(documentId);
    if (!row) throw new errors.NotFoundError(`Routing rule ${documentId} not found`);
    return row;
  };

  /** Checked against the database, not the directory: a group made a moment ago must be usable at once. */
  const checkReferences = async (data: { name?: string; target?: RuleTarget }, selfDocumentId?: string) => {
    if (data.name !== undefined && (await repository.findByName(data.name, selfDocumentId))) fieldError('name', 'is already used by another rule');
    if (data.target) {
      const found =
        data.target.kind === 'group'
          ? await getService(strapi, 'groups').get(data.target.id).catch(() => null)
          : await getService(strapi, 'servers').get(data.target.id).catch(() => null);
      if (!found) throwFieldErrors([{ path: ['target', 'id'], message: `no ${data.target.kind} has this documentId`, name: 'ValidationError' }]);
    }
  };

  return {
    /** Every rule, in order; the list takes no query parameters (one sent is refused, naming it). */
    async list(query: unknown = {}): Promise<{ data: RoutingRuleDto[] }> {
      parseInput(noParametersSchema, query);
      const [rows, current] = await Promise.all([repository.findAll(), currentDirectory()]);
      return { data: rows.map((row) => toDto(row, current)) };
    },

    async get(documentId: string): Promise<RoutingRuleDto> {
      return toDto(await requireRule(documentId), await currentDirectory());
    },

    async create(input: unknown): Promise<RoutingRuleDto> {
      const data = parseInput(createRoutingRuleSchema, input);
      const created = await strapi.db.transaction(async () => {
        await checkReferences(data);
        const last = (await repository.findAll()).at(-1);
        return repository.create({
          name: data.name,
          enabled: data.enabled,
          position: last ? last.position + 1 : 0,
          conditions: data.conditions,
          targetKind: data.target.kind,
          targetId: data.target.id,
        });
      });
      return toDto(created, await currentDirectory());
    },

    async update(documentId: string, input: unknown): Promise<RoutingRuleDto> {
      const data = parseInput(updateRoutingRuleSchema, input);
      const updated = await strapi.db.transaction(async () => {
        await requireRule(documentId);
        await checkReferences(data, documentId);
        return repository.update(documentId, {
          ...(data.name !== undefined ? { name: data.name } : {}),
          ...(data.enabled !== undefined ? { enabled: data.enabled } : {}),
          ...(data.conditions !== undefined ? { conditions: data.conditions } : {}),
          ...(data.target !== undefined ? { targetKind: data.target.kind, targetId: data.target.id } : {}),
        });
      });
      return toDto(updated, await currentDirectory());
    },

    async delete(documentId: string): Promise<void> {
      await requireRule(documentId);
      await repository.delete(documentId);
    },

    /** Puts the rules in the order given; every rule must be named once. */
    async reorder(input: unknown): Promise<{ data: RoutingRuleDto[] }> {
      const { ids } = parseInput(reorderRoutingRulesSchema, input);
      await strapi.db.transaction(async () => {
        const rows = await repository.findAll();
        const known = new Set(rows.map((row) => row.documentId));
        const unknown = ids.find((id) => !known.has(id));
        if (unknown) fieldError('ids', `${unknown} is not a routing rule`);
        if (new Set(ids).size !== ids.length || ids.length !== rows.length) fieldError('ids', `must name each of the ${rows.length} rules once`);
        const positions = new Map(rows.map((row) => [row.documentId, row.position]));
        for (const [position, id] of ids.entries()) {
          if (positions.get(id) !== position) await repository.update(id, { position });
        }
      });
      return this.list();
    },

    /** The engine's view: every rule, enabled or not (the directory compiles the enabled ones). */
    async forEngine(): Promise<RoutingRule[]> {
      const rows = await repository.findAll();
      return rows.map((row) => ({
        id: row.documentId,
        name: row.name,
        enabled: row.enabled,
        position: row.position,
        conditions: row.conditions ?? {},
        target: { kind: row.targetKind, id: row.targetId },
      }));
    },

    /** "Where would this message go?": the decision, the group and its fallbacks, and each server's eligibility. */
    async test(input: unknown): Promise<TestRoutingResult> {
      const data = parseInput(testRoutingSchema, input);
      const facts = {
        tags: tagsOf(data.campaign ? 'marketing' : 'transactional', data.tags),
        from: data.from,
        recipients: data.to,
        campaignId: data.campaign,
        segment: data.segment,
      };
      let decided: Awaited<ReturnType<ReturnType<typeof engine>['decideTarget']>>;
      try {
        decided = await engine().decideTarget({ group: data.group ?? undefined, server: data.server ?? undefined }, facts);
      } catch (error) {
        if (error instanceof MessageValidationError) {
          throwFieldErrors(error.errors.map((entry) => ({ ...entry, name: 'ValidationError' })));
        }
        throw error;
      }
      const { directory: current, target } = decided;
      const now = engine().now();
      const chain: GroupConfig[] = [];
      for (let id = target.groupId; id && !chain.some((group) => group.id === id); ) {
        const group = current.groups.get(id);
        if (!group) break;
        chain.push(group);
        id = group.fallbackGroupId;
      }
      const serverIds = target.serverId ? [{ id: target.serverId, group: '' }] : chain.flatMap((group) => group.serverIds.map((id) => ({ id, group: group.slug })));
      const healths = await engine().health.getMany(serverIds.map((entry) => entry.id), now);
      const servers: TestedServer[] = serverIds.flatMap(({ id, group }) => {
        const server = current.servers.get(id);
        if (!server) return [];
        const health = healths.get(id);
        // Read defensively: the field comes with the send-time From filter.
        const allowed = (server as { allowedFromDomains?: string[] | null }).allowedFromDomains;
        let reason: string | null = null;
        if (!server.enabled) reason = 'disabled';
        else if (health?.suspendedUntil && health.suspendedUntil > now) reason = `suspended${health.reason ? `: ${health.reason}` : ''}`;
        else if (data.from && !allowsFromDomain(allowed, data.from)) reason = 'From domain not allowed';
        return [{ documentId: id, name: server.name, group, eligible: reason === null, reason }];
      });
      const group = target.groupId ? current.groups.get(target.groupId) : undefined;
      const server = target.serverId ? current.servers.get(target.serverId) : undefined;
      const where = server ? `server ${server.name}` : `group ${group?.name ?? '?'}`;
      const how =
        target.route.via === 'rule'
          ? `Rule '${target.route.ruleName}'`
          : target.route.via === 'segment'
            ? `Segment ${target.route.segment}`
            : target.route.via === 'default'
              ? 'No rule matched: default'
              : 'Named by the sender:';
      return {
        decision: target.route.via,
        rule: target.route.via === 'rule' ? { documentId: target.route.ruleId!, name: target.route.ruleName! } : null,
        group: group ? { documentId: group.id, slug: group.slug, name: group.name } : null,
        fallbackChain: chain.map((entry) => ({ documentId: entry.id, slug: entry.slug, name: entry.name })),
        server: server ? { documentId: server.id, name: server.name } : null,
        servers,
        summary: `${how} → ${where}`,
      };
    },
  };
};

export type RoutingRulesService = ReturnType<typeof routingRules>;
export default routingRules;
