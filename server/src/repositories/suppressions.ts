import type { Core } from '@strapi/strapi';

import type { Suppression } from '../../../shared/contracts/subscribers';
import { SUPPRESSION_UID } from '../utils/uids';
import { documentsOf } from './documents';
import { findDocumentPage, type PageParams } from './subscribers';
import type { Page } from './types';

/** A row as the database holds it: the API shape plus the row id. */
export interface SuppressionEntity extends Suppression {
  id: number;
}

/** Database access for suppressed addresses and domains. */
export const createSuppressionRepository = (strapi: Core.Strapi) => {
  const documents = () => documentsOf<SuppressionEntity>(strapi, SUPPRESSION_UID);
  const query = () => strapi.db.query(SUPPRESSION_UID as never);

  return {
    findPage(params: PageParams): Promise<Page<SuppressionEntity>> {
      return findDocumentPage(documents(), params);
    },

    findOne(documentId: string): Promise<SuppressionEntity | null> {
      return documents().findOne({ documentId });
    },

    findByValue(value: string): Promise<SuppressionEntity | null> {
      return documents().findFirst({ filters: { value: { $eq: value } } });
    },

    create(data: Record<string, unknown>): Promise<SuppressionEntity> {
      return documents().create({ data });
    },

    async delete(documentId: string): Promise<void> {
      await documents().delete({ documentId });
    },

    /** One keyset page (id order) of rows matching `where`, for the export and the Redis rebuild. */
    async pageAfter(where: Record<string, unknown>, afterId: number, limit: number): Promise<SuppressionEntity[]> {
      return (await query().findMany({
        where: { ...where, id: { $gt: afterId } },
        orderBy: { id: 'asc' },
        limit,
      })) as SuppressionEntity[];
    },

    /** Which of these values have a row (to drop stale Redis members). */
    async existingValues(values: string[]): Promise<Set<string>> {
      if (values.length === 0) return new Set();
      const rows = (await query().findMany({ where: { value: { $in: values } }, select: ['value'] })) as { value: string }[];
      return new Set(rows.map((row) => row.value));
    },
  };
};

export type SuppressionRepository = ReturnType<typeof createSuppressionRepository>;
