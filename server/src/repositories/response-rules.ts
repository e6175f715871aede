import type { Core } from '@strapi/strapi';

import type { ResponseRuleAction } from '../../../shared/contracts/response-rules';
import { documentsOf } from './documents';

export const RESPONSE_RULE_UID = 'plugin::multi-smtp.response-rule' as const;

/**
 * A response rule row: an admin's rule (kind custom, every field set), or the on/off switch of a
 * shipped rule (kind shipped: shippedId and enabled only; the rule itself lives in engine/health.ts).
 */
export interface ResponseRuleEntity {
  id: number;
  documentId: string;
  kind: 'custom' | 'shipped';
  shippedId: string | null;
  pattern: string | null;
  action: ResponseRuleAction | null;
  durationSec: number | null;
  ratePerSecond: number | string | null;
  thresholdCount: number | null;
  thresholdWindowSec: number | null;
  description: string | null;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export type ResponseRuleWrite = Partial<Omit<ResponseRuleEntity, 'id' | 'documentId' | 'createdAt' | 'updatedAt'>>;

/** Database access for response rules; the only place that talks to the document service for them. */
export const createResponseRuleRepository = (strapi: Core.Strapi) => {
  const documents = () => documentsOf<ResponseRuleEntity>(strapi, RESPONSE_RULE_UID);

  return {
    findAll(): Promise<ResponseRuleEntity[]> {
      return documents().findMany({ sort: 'createdAt:asc' });
    },

    findOne(documentId: string): Promise<ResponseRuleEntity | null> {
      return documents().findOne({ documentId });
    },

    findShipped(shippedId: string): Promise<ResponseRuleEntity | null> {
      return documents().findFirst({ filters: { kind: 'shipped', shippedId } });
    },

    create(data: ResponseRuleWrite): Promise<ResponseRuleEntity> {
      return documents().create({ data: { ...data } });
    },

    update(documentId: string, data: ResponseRuleWrite): Promise<ResponseRuleEntity> {
      return documents().update({ documentId, data: { ...data } });
    },

    async delete(documentId: string): Promise<void> {
      await documents().delete({ documentId });
    },
  };
};
