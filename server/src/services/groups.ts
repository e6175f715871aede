import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import type { ListResponse } from '../../../shared/contracts/common';
import {
  createGroupSchema,
  listGroupsQuerySchema,
  updateGroupSchema,
  type SmtpGroup,
} from '../../../shared/contracts/groups';
import { createCampaignRepository } from '../repositories/campaigns';
import { createGroupRepository } from '../repositories/groups';
import { createRoutingRuleRepository } from '../repositories/routing-rules';
import { createServerRepository } from '../repositories/servers';
import type { GroupEntity } from '../repositories/types';
import { fieldError, parseInput } from '../utils/validation';
import { toGroupDto } from './mappers';

/** Follows fallback links from `start`; true when they come back to `start` (a routing loop). */
export const formsFallbackCycle = (links: Map<string, string | null>, start: string, fallback: string | null) => {
  const seen = new Set<string>([start]);
  let current = fallback;
  while (current) {
    if (seen.has(current)) return true;
    seen.add(current);
    current = links.get(current) ?? null;
  }
  return false;
};

/** Server groups: validation, the single default, fallback checks, and the API shape. */
const groups = ({ strapi }: { strapi: Core.Strapi }) => {
  const repository = createGroupRepository(strapi);
  const serverRepository = createServerRepository(strapi);
  const ruleRepository = createRoutingRuleRepository(strapi);
  const campaignRepository = createCampaignRepository(strapi);

  const requireGroup = async (documentId: string): Promise<GroupEntity> => {
    const group = await repository.findOne(documentId);
    if (!group) throw new errors.NotFoundError(`Group ${documentId} not found`);
    return group;
  };

  const checkReferences = async (data: { slug?: string; fallbackGroup?: string | null }, selfDocumentId?: string) => {
    if (data.slug !== undefined && (await repository.findBySlug(data.slug, selfDocumentId))) {
      fieldError('slug', 'is already used by another group');
    }
    if (data.fallbackGroup) {
      if (data.fallbackGroup === selfDocumentId) fieldError('fallbackGroup', 'cannot be the group itself');
      if (!(await repository.findOne(data.fallbackGroup))) fieldError('fallbackGroup', 'does not exist');
      if (selfDocumentId && formsFallbackCycle(await repository.fallbackLinks(), selfDocumentId, data.fallbackGroup)) {
        fieldError('fallbackGroup', 'would make a loop of fallback groups');
      }
    }
  };

  return {
    async list(query: unknown): Promise<ListResponse<SmtpGroup>> {
      const { page, pageSize, sort, q } = parseInput(listGroupsQuerySchema, query);
      const filters: Record<string, unknown> = {};
      if (q) filters.$or = [{ name: { $containsi: q } }, { slug: { $containsi: q } }];
      const { results, total } = await repository.findPage({ filters, sort, start: (page - 1) * pageSize, limit: pageSize });
      return {
        data: results.map(toGroupDto),
        meta: { pagination: { page, pageSize, pageCount: Math.ceil(total / pageSize), total } },
      };
    },

    async get(documentId: string): Promise<SmtpGroup> {
      return toGroupDto(await requireGroup(documentId));
    },

    async create(input: unknown): Promise<SmtpGroup> {
      const data = parseInput(createGroupSchema, input);
      return strapi.db.transaction(async () => {
        await checkReferences(data);
        const created = await repository.create(data);
        if (data.isDefault) await repository.clearDefaultExcept(created.documentId);
        return toGroupDto(created);
      });
    },

    async update(documentId: string, input: unknown): Promise<SmtpGroup> {
      const data = parseInput(updateGroupSchema, input);
      return strapi.db.transaction(async () => {
        const current = await requireGroup(documentId);
        if (data.isDefault === false && current.isDefault) {
          fieldError('isDefault', 'mark another group as the default instead');
        }
        await checkReferences(data, documentId);
        const updated = await repository.update(documentId, data);
        if (data.isDefault) await repository.clearDefaultExcept(documentId);
        return toGroupDto(updated);
      });
    },

    /**
     * Refuses to delete a group that still routes mail: the default, one with servers, someone's
     * fallback, a routing rule's target, or a route of a scheduled or sending campaign's segments.
     */
    async delete(documentId: string): Promise<void> {
      const group = await requireGroup(documentId);
      if (group.isDefault) {
        throw new errors.ApplicationError('This is the default group: make another group the default first');
      }
      const serverCount = await serverRepository.countInGroup(documentId);
      if (serverCount > 0) {
        throw new errors.ApplicationError(`This group still has ${serverCount} server(s): move or delete them first`);
      }
      const users = await repository.findFallbackUsers(documentId);
      if (users.length > 0) {
        throw new errors.ApplicationError(
          `This group is the fallback of: ${users.map((user) => user.name).join(', ')}; change their fallback first`
        );
      }
      const rules = await ruleRepository.findTargeting('group', documentId);
      if (rules.length > 0) {
        throw new errors.ApplicationError(
          `This group is the target of routing rule(s): ${rules.map((rule) => rule.name).join(', ')}; change or delete them first`
        );
      }
      // A campaign under way would fail on its next page for the missing route (a draft is checked when it starts).
      const campaigns = await campaignRepository.findSegmentRoutedTo(documentId, ['scheduled', 'sending', 'paused']);
      if (campaigns.length > 0) {
        throw new errors.ApplicationError(
          `The segment routing of campaign(s) ${campaigns.map((campaign) => campaign.name).join(', ')} sends through this group; finish, cancel or change them first`
        );
      }
      await repository.delete(documentId);
    },

    /** The group a message without one goes to: the configured slug, else the one marked default. */
    async findDefault(): Promise<SmtpGroup | null> {
      const group = await repository.findDefault();
      return group ? toGroupDto(group) : null;
    },

    /** On a fresh install, one default group so servers can be added and mail routed at once. */
    async ensureDefaultGroup(): Promise<void> {
      if ((await repository.count()) > 0) return;
      // Nodes booting together on an empty database race here. Strapi checks the slug's uniqueness
      // before inserting (not in the database): a node that finds another's group there is done, and
      // when both inserted, the first created stays and the others remove their own.
      let mine: GroupEntity;
      try {
        mine = await repository.create({ name: 'Default', slug: 'default', strategy: 'weighted', isDefault: true });
      } catch (error) {
        if (error instanceof errors.ValidationError && (await repository.findBySlug('default'))) return;
        throw error;
      }
      const created = await repository.findAllWithSlug('default');
      if (created.length > 1 && created[0]!.documentId !== mine.documentId) await repository.delete(mine.documentId);
    },
  };
};

export type GroupsService = ReturnType<typeof groups>;
export default groups;
