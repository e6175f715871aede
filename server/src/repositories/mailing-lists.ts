import type { Core } from '@strapi/strapi';

import { CAMPAIGN_UID, MAILING_LIST_UID, SUBSCRIBER_UID } from '../utils/uids';
import { documentsOf } from './documents';
import { findDocumentPage, listLinkTable, tableOf, type PageParams } from './subscribers';
import type { Page } from './types';

export interface MailingListEntity {
  id: number;
  documentId: string;
  name: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ListCounts {
  subscriberCount: number;
  subscribedCount: number;
}

/** Campaign statuses in which a campaign may still read its audience. */
const LIVE_CAMPAIGN_STATUSES = ['draft', 'scheduled', 'sending', 'paused'];

/** Database access for mailing lists. */
export const createMailingListRepository = (strapi: Core.Strapi) => {
  const documents = () => documentsOf<MailingListEntity>(strapi, MAILING_LIST_UID);

  return {
    findPage(params: PageParams): Promise<Page<MailingListEntity>> {
      return findDocumentPage(documents(), params);
    },

    findOne(documentId: string): Promise<MailingListEntity | null> {
      return documents().findOne({ documentId });
    },

    /** A list by name, ignoring case (two lists differing only by case would confuse editors). */
    findByName(name: string, exceptDocumentId?: string): Promise<MailingListEntity | null> {
      const filters: Record<string, unknown> = { name: { $eqi: name } };
      if (exceptDocumentId) filters.documentId = { $ne: exceptDocumentId };
      return documents().findFirst({ filters });
    },

    create(data: Record<string, unknown>): Promise<MailingListEntity> {
      return documents().create({ data });
    },

    update(documentId: string, data: Record<string, unknown>): Promise<MailingListEntity> {
      return documents().update({ documentId, data });
    },

    async delete(documentId: string): Promise<void> {
      await documents().delete({ documentId });
    },

    /** Subscriber counts of these lists (by row id), in one grouped query. */
    async counts(listIds: number[]): Promise<Map<number, ListCounts>> {
      const result = new Map<number, ListCounts>();
      if (listIds.length === 0) return result;
      const link = listLinkTable(strapi);
      const subscribers = tableOf(strapi, SUBSCRIBER_UID);
      const rows: { list: number; total: number | string; subscribed: number | string | null }[] = await strapi.db
        .connection(`${link.name} as l`)
        .join(`${subscribers.name} as s`, `s.id`, `l.${link.subscriberColumn}`)
        .whereIn(`l.${link.listColumn}`, listIds)
        .groupBy(`l.${link.listColumn}`)
        .select(`l.${link.listColumn} as list`)
        .count('* as total')
        .select(
          strapi.db.connection.raw(`sum(case when s.${subscribers.column('status')} = ? then 1 else 0 end) as subscribed`, [
            'subscribed',
          ])
        );
      for (const row of rows) {
        result.set(Number(row.list), { subscriberCount: Number(row.total), subscribedCount: Number(row.subscribed ?? 0) });
      }
      return result;
    },

    /**
     * Campaigns not yet finished whose audience names this list: deleting it would change who they
     * reach behind the editor's back.
     */
    async liveCampaignsUsing(documentId: string): Promise<{ documentId: string; name: string }[]> {
      const campaigns = (await strapi.db.query(CAMPAIGN_UID as never).findMany({
        where: { status: { $in: LIVE_CAMPAIGN_STATUSES } },
        select: ['documentId', 'name', 'audience'],
      })) as { documentId: string; name: string; audience: unknown }[];
      return campaigns
        .filter((campaign) => {
          const audience = campaign.audience as { type?: string; lists?: unknown } | null;
          return audience?.type === 'lists' && Array.isArray(audience.lists) && audience.lists.includes(documentId);
        })
        .map(({ documentId: id, name }) => ({ documentId: id, name }));
    },
  };
};

export type MailingListRepository = ReturnType<typeof createMailingListRepository>;
