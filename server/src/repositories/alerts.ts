import type { Core } from '@strapi/strapi';

import type { AlertEvidence, AlertStatus, ProtectionAction, ProtectionRuleId } from '../../../shared/contracts/alerts';
import { ALERT_UID } from '../utils/uids';
import { documentsOf } from './documents';
import type { Page } from './types';

/** A protection alert row (JSON parsed, datetimes as ISO strings). */
export interface AlertEntity {
  id: number;
  documentId: string;
  serverDocumentId: string;
  serverName: string | null;
  rule: ProtectionRuleId;
  action: ProtectionAction;
  status: AlertStatus;
  summary: string | null;
  evidence: AlertEvidence | null;
  emailedTo: string[] | null;
  emailMessageId: string | null;
  createdAt: string;
  liftedAt: string | null;
  liftedBy: string | null;
}

export interface NewAlert {
  serverDocumentId: string;
  serverName: string;
  rule: ProtectionRuleId;
  action: ProtectionAction;
  summary: string;
  evidence: AlertEvidence;
  emailedTo: string[];
}

/** Database access for protection alerts. */
export const createAlertRepository = (strapi: Core.Strapi) => {
  const documents = () => documentsOf<AlertEntity>(strapi, ALERT_UID);
  const query = () => strapi.db.query(ALERT_UID as never);

  return {
    async findPage(params: { filters: Record<string, unknown>; sort: string; start: number; limit: number }): Promise<Page<AlertEntity>> {
      const [results, total] = await Promise.all([documents().findMany(params), documents().count({ filters: params.filters })]);
      return { results, total };
    },

    findOne(documentId: string): Promise<AlertEntity | null> {
      return documents().findOne({ documentId });
    },

    /** Active alerts, of one server or of every server (servers = undefined). */
    findActive(serverDocumentIds?: string[]): Promise<AlertEntity[]> {
      const filters: Record<string, unknown> = { status: { $eq: 'active' } };
      if (serverDocumentIds) filters.serverDocumentId = { $in: serverDocumentIds };
      return documents().findMany({ filters, sort: 'createdAt:asc' });
    },

    create(data: NewAlert): Promise<AlertEntity> {
      return documents().create({ data: { ...data, status: 'active' } });
    },

    async setEmailMessageId(documentId: string, emailMessageId: string): Promise<void> {
      await query().updateMany({ where: { documentId }, data: { emailMessageId } });
    },

    /** Active -> lifted, only if still active; false when another request lifted it first. */
    async markLifted(documentId: string, liftedBy: string | null): Promise<boolean> {
      const { count } = (await query().updateMany({
        where: { documentId, status: 'active' },
        data: { status: 'lifted', liftedAt: new Date(), liftedBy, updatedAt: new Date() },
      })) as { count: number };
      return count > 0;
    },
  };
};

export type AlertRepository = ReturnType<typeof createAlertRepository>;
