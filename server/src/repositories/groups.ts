import type { Core } from '@strapi/strapi';

import { documentsOf } from './documents';
import { GROUP_UID } from '../utils/uids';
import type { GroupEntity, GroupRefEntity, Page } from './types';

const populate = {
  fallbackGroup: { fields: ['name', 'slug'] },
  servers: { fields: ['name', 'host', 'port', 'enabled', 'weight', 'priority'], sort: 'name:asc' },
} as const;

/** Database access for server groups. */
export const createGroupRepository = (strapi: Core.Strapi) => {
  const documents = () => documentsOf<GroupEntity>(strapi, GROUP_UID);

  return {
    async findPage(params: {
      filters: Record<string, unknown>;
      sort: string;
      start: number;
      limit: number;
    }): Promise<Page<GroupEntity>> {
      const [results, total] = await Promise.all([
        documents().findMany({ ...params, populate }),
        documents().count({ filters: params.filters }),
      ]);
      return { results, total };
    },

    /** Every group with its fallback and member servers, for the engine's directory. */
    findAll(): Promise<GroupEntity[]> {
      return documents().findMany({ sort: 'name:asc', populate });
    },

    findOne(documentId: string): Promise<GroupEntity | null> {
      return documents().findOne({ documentId, populate });
    },

    findBySlug(slug: string, exceptDocumentId?: string): Promise<GroupRefEntity | null> {
      const filters: Record<string, unknown> = { slug: { $eq: slug } };
      if (exceptDocumentId) filters.documentId = { $ne: exceptDocumentId };
      return documents().findFirst({ filters });
    },

    /** Every group with this slug, oldest first (two only after a race: see ensureDefaultGroup). */
    findAllWithSlug(slug: string): Promise<GroupRefEntity[]> {
      return documents().findMany({ filters: { slug: { $eq: slug } }, fields: ['name', 'slug'], sort: 'id:asc' });
    },

    /** Every group's id and fallback, to check a new fallback link for cycles. */
    async fallbackLinks(): Promise<Map<string, string | null>> {
      const rows: GroupEntity[] = await documents().findMany({
        fields: ['documentId'],
        populate: { fallbackGroup: { fields: ['documentId'] } },
      });
      return new Map(rows.map((row) => [row.documentId, row.fallbackGroup?.documentId ?? null]));
    },

    /** Groups that name this one as their fallback. */
    findFallbackUsers(documentId: string): Promise<GroupRefEntity[]> {
      return documents().findMany({ filters: { fallbackGroup: { documentId: { $eq: documentId } } }, fields: ['name', 'slug'] });
    },

    findDefault(): Promise<GroupEntity | null> {
      return documents().findFirst({ filters: { isDefault: { $eq: true } }, populate });
    },

    count(): Promise<number> {
      return documents().count({});
    },

    /** Unmarks every default group except the given one (there is one default at most). */
    async clearDefaultExcept(documentId: string): Promise<void> {
      const others: GroupRefEntity[] = await documents().findMany({
        filters: { isDefault: { $eq: true }, documentId: { $ne: documentId } },
        fields: ['documentId'],
      });
      for (const other of others) {
        await documents().update({ documentId: other.documentId, data: { isDefault: false } });
      }
    },

    create(data: Record<string, unknown>): Promise<GroupEntity> {
      return documents().create({ data, populate });
    },

    update(documentId: string, data: Record<string, unknown>): Promise<GroupEntity> {
      return documents().update({ documentId, data, populate });
    },

    async delete(documentId: string): Promise<void> {
      await documents().delete({ documentId });
    },
  };
};

export type GroupRepository = ReturnType<typeof createGroupRepository>;
