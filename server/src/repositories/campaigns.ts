import type { Core } from '@strapi/strapi';

import type { Audience } from '../../../shared/contracts/audiences';
import type { CampaignStatus, SegmentRouting } from '../../../shared/contracts/campaigns';
import type { StoredCounters } from '../engine/campaign-progress';
import { CAMPAIGN_UID, SUBSCRIBER_UID } from '../utils/uids';
import { documentsOf } from './documents';
import type { GroupRefEntity, Page } from './types';

/** A campaign row as the document service returns it. */
export interface CampaignEntity extends StoredCounters {
  id: number;
  documentId: string;
  name: string;
  subject: string | null;
  preheader: string | null;
  fromName: string | null;
  fromAddress: string | null;
  replyTo: string | null;
  html: string | null;
  text: string | null;
  group: GroupRefEntity | null;
  audience: Audience | null;
  segmentRouting: SegmentRouting | null;
  status: CampaignStatus;
  scheduledAt: string | null;
  trackOpens: boolean | null;
  trackClicks: boolean | null;
  tags: string[] | null;
  startedAt: string | null;
  completedAt: string | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What a preview or test send needs of a subscriber. */
export interface SubscriberData {
  documentId: string;
  email: string;
  name: string | null;
  attributes: Record<string, unknown> | null;
}

const populate = { group: { fields: ['name', 'slug'] } } as const;

/** Database access for campaigns. */
export const createCampaignRepository = (strapi: Core.Strapi) => {
  const documents = () => documentsOf<CampaignEntity>(strapi, CAMPAIGN_UID);
  const rows = () => strapi.db.query(CAMPAIGN_UID as never);

  return {
    /** Campaigns in these statuses whose segment routing sends a part of the audience through the group. */
    async findSegmentRoutedTo(groupDocumentId: string, statuses: readonly CampaignStatus[]): Promise<Pick<CampaignEntity, 'documentId' | 'name'>[]> {
      // segmentRouting is JSON: a handful of live campaigns, filtered here rather than in SQL.
      const live = (await documents().findMany({ filters: { status: { $in: [...statuses] } }, fields: ['name', 'segmentRouting'] })) as Pick<
        CampaignEntity,
        'documentId' | 'name' | 'segmentRouting'
      >[];
      return live
        .filter((campaign) => campaign.segmentRouting?.routes?.some((route) => route.group === groupDocumentId))
        .map(({ documentId, name }) => ({ documentId, name }));
    },

    async findPage(params: { filters: Record<string, unknown>; sort: string; start: number; limit: number }): Promise<Page<CampaignEntity>> {
      const [results, total] = await Promise.all([
        documents().findMany({ ...params, populate }),
        documents().count({ filters: params.filters }),
      ]);
      return { results, total };
    },

    findOne(documentId: string): Promise<CampaignEntity | null> {
      return documents().findOne({ documentId, populate });
    },

    create(data: Record<string, unknown>): Promise<CampaignEntity> {
      return documents().create({ data, populate });
    },

    update(documentId: string, data: Record<string, unknown>): Promise<CampaignEntity> {
      return documents().update({ documentId, data, populate });
    },

    async delete(documentId: string): Promise<void> {
      await documents().delete({ documentId });
    },

    /**
     * Writes `data` only while the campaign's status is one of `from`, in one conditional UPDATE:
     * of two admins or processes changing the same campaign at once, exactly one gets true.
     * Inside a transaction it also holds the row until commit, so an edit and a start serialise.
     */
    async updateIfStatus(documentId: string, from: readonly CampaignStatus[], data: Record<string, unknown>): Promise<boolean> {
      const { count } = await rows().updateMany({
        where: { documentId, status: { $in: [...from] } },
        data: { ...data, updatedAt: new Date() },
      });
      return count > 0;
    },

    async findSubscriber(documentId: string): Promise<SubscriberData | null> {
      const subscriber = await documentsOf<SubscriberData>(strapi, SUBSCRIBER_UID).findOne({
        documentId,
        fields: ['email', 'name', 'attributes'],
      });
      return subscriber ?? null;
    },
  };
};

export type CampaignRepository = ReturnType<typeof createCampaignRepository>;
