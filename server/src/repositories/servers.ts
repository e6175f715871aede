import type { Core } from '@strapi/strapi';

import { documentsOf } from './documents';
import { SERVER_UID } from '../utils/uids';
import type { Page, ServerEntity } from './types';

const populate = { group: { fields: ['name', 'slug'] } } as const;

export interface ServerListParams {
  filters: Record<string, unknown>;
  sort: string;
  start: number;
  limit: number;
}

/** Database access for SMTP servers; the only place that talks to the document service for them. */
export const createServerRepository = (strapi: Core.Strapi) => {
  const documents = () => documentsOf<ServerEntity>(strapi, SERVER_UID);

  return {
    async findPage({ filters, sort, start, limit }: ServerListParams): Promise<Page<ServerEntity>> {
      const [results, total] = await Promise.all([
        documents().findMany({ filters, sort, start, limit, populate }),
        documents().count({ filters }),
      ]);
      return { results, total };
    },

    findAll(filters: Record<string, unknown> = {}): Promise<ServerEntity[]> {
      return documents().findMany({ filters, sort: 'name:asc', populate });
    },

    findOne(documentId: string): Promise<ServerEntity | null> {
      return documents().findOne({ documentId, populate });
    },

    /** Finds a server by name, ignoring case, optionally excluding one (the one being edited). */
    findByName(name: string, exceptDocumentId?: string): Promise<ServerEntity | null> {
      const filters: Record<string, unknown> = { name: { $eqi: name } };
      if (exceptDocumentId) filters.documentId = { $ne: exceptDocumentId };
      return documents().findFirst({ filters });
    },

    countInGroup(groupDocumentId: string): Promise<number> {
      return documents().count({ filters: { group: { documentId: { $eq: groupDocumentId } } } });
    },

    create(data: Record<string, unknown>): Promise<ServerEntity> {
      return documents().create({ data, populate });
    },

    update(documentId: string, data: Record<string, unknown>): Promise<ServerEntity> {
      return documents().update({ documentId, data, populate });
    },

    async delete(documentId: string): Promise<void> {
      await documents().delete({ documentId });
    },
  };
};

export type ServerRepository = ReturnType<typeof createServerRepository>;
