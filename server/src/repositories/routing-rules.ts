import type { Core } from '@strapi/strapi';

import type { RuleConditions } from '../../../shared/contracts/routing-rules';
import { documentsOf } from './documents';

export const ROUTING_RULE_UID = 'plugin::multi-smtp.routing-rule' as const;

/** A routing rule row; its target is a group's or a server's documentId (kept when that is deleted: the rule is then passed over). */
export interface RoutingRuleEntity {
  id: number;
  documentId: string;
  name: string;
  enabled: boolean;
  position: number;
  conditions: Partial<RuleConditions> | null;
  targetKind: 'group' | 'server';
  targetId: string;
  createdAt: string;
  updatedAt: string;
}

export type RoutingRuleWrite = Partial<Omit<RoutingRuleEntity, 'id' | 'documentId' | 'createdAt' | 'updatedAt'>>;

/** Database access for routing rules; the only place that talks to the document service for them. */
export const createRoutingRuleRepository = (strapi: Core.Strapi) => {
  const documents = () => documentsOf<RoutingRuleEntity>(strapi, ROUTING_RULE_UID);

  return {
    /** Every rule in order (a few dozen at most: the directory loads them all). */
    findAll(): Promise<RoutingRuleEntity[]> {
      return documents().findMany({ sort: ['position:asc', 'name:asc'] });
    },

    /** The rules that send to this group or server (a delete is refused while there are any). */
    findTargeting(targetKind: RoutingRuleEntity['targetKind'], targetId: string): Promise<RoutingRuleEntity[]> {
      return documents().findMany({ filters: { targetKind: { $eq: targetKind }, targetId: { $eq: targetId } }, sort: ['position:asc'] });
    },

    findOne(documentId: string): Promise<RoutingRuleEntity | null> {
      return documents().findOne({ documentId });
    },

    findByName(name: string, exceptDocumentId?: string): Promise<RoutingRuleEntity | null> {
      return documents().findFirst({
        filters: { name: { $eqi: name }, ...(exceptDocumentId ? { documentId: { $ne: exceptDocumentId } } : {}) },
      });
    },

    create(data: RoutingRuleWrite): Promise<RoutingRuleEntity> {
      return documents().create({ data: { ...data } });
    },

    update(documentId: string, data: RoutingRuleWrite): Promise<RoutingRuleEntity> {
      return documents().update({ documentId, data: { ...data } });
    },

    async delete(documentId: string): Promise<void> {
      await documents().delete({ documentId });
    },
  };
};
