import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import {
  PROTECTION_OUTCOMES,
  listAlertsQuerySchema,
  liftAlertSchema,
  type Alert,
  type AlertEvidence,
  type ServerAlertSummary,
} from '../../../shared/contracts/alerts';
import type { ListResponse } from '../../../shared/contracts/common';
import { createAlertRepository, type AlertEntity } from '../repositories/alerts';
import { getService } from '../utils/get-service';
import { parseInput } from '../utils/validation';

/** The admin who acted, as an alert shows it. */
export interface Actor {
  firstname?: string | null;
  lastname?: string | null;
  username?: string | null;
  email?: string | null;
}

const actorLabel = (actor: Actor | null | undefined): string | null => {
  if (!actor) return null;
  const name = [actor.firstname, actor.lastname].filter(Boolean).join(' ') || actor.username || '';
  const label = actor.email ? (name ? `${name} <${actor.email}>` : actor.email) : name;
  return label ? label.slice(0, 255) : null;
};

const emptyEvidence = (): AlertEvidence => ({
  window: 0,
  sends: 0,
  minSends: 0,
  counts: Object.fromEntries(PROTECTION_OUTCOMES.map((outcome) => [outcome, 0])) as AlertEvidence['counts'],
  rate: 0,
  threshold: 0,
  weightFactor: null,
  samples: [],
  at: 0,
});

export const toAlertDto = (row: AlertEntity): Alert => ({
  documentId: row.documentId,
  server: { documentId: row.serverDocumentId, name: row.serverName ?? row.serverDocumentId },
  rule: row.rule,
  action: row.action,
  status: row.status,
  summary: row.summary ?? '',
  evidence: { ...emptyEvidence(), ...(row.evidence ?? {}) },
  emailedTo: Array.isArray(row.emailedTo) ? row.emailedTo : [],
  emailMessageId: row.emailMessageId ?? null,
  createdAt: row.createdAt,
  liftedAt: row.liftedAt ?? null,
  liftedBy: row.liftedBy ?? null,
});

/** Protection alerts for the admin: list, read, lift (services/protection.ts raises them). */
const alerts = ({ strapi }: { strapi: Core.Strapi }) => {
  const repository = createAlertRepository(strapi);

  const requireAlert = async (documentId: string) => {
    const row = await repository.findOne(documentId);
    if (!row) throw new errors.NotFoundError(`Alert ${documentId} not found`);
    return row;
  };

  return {
    async list(query: unknown): Promise<ListResponse<Alert>> {
      const { page, pageSize, sort, status, server, rule } = parseInput(listAlertsQuerySchema, query);
      const filters: Record<string, unknown> = {};
      if (status) filters.status = { $eq: status };
      if (server) filters.serverDocumentId = { $eq: server };
      if (rule) filters.rule = { $eq: rule };
      const { results, total } = await repository.findPage({ filters, sort, start: (page - 1) * pageSize, limit: pageSize });
      return {
        data: results.map(toAlertDto),
        meta: { pagination: { page, pageSize, pageCount: Math.ceil(total / pageSize), total } },
      };
    },

    async get(documentId: string): Promise<Alert> {
      return toAlertDto(await requireAlert(documentId));
    },

    /**
     * One click: marks the alert lifted (only the first of two concurrent lifts acts), then undoes
     * its action and starts the server's window afresh (services/protection.ts release). Lifting a
     * lifted alert answers it unchanged.
     */
    async lift(documentId: string, input: unknown, actor?: Actor | null): Promise<Alert> {
      parseInput(liftAlertSchema, input ?? undefined);
      const alert = await requireAlert(documentId);
      if (alert.status === 'active' && (await repository.markLifted(documentId, actorLabel(actor)))) {
        await getService(strapi, 'protection').release(alert);
      }
      return toAlertDto(await requireAlert(documentId));
    },

    /** Active alerts per server documentId (GET /status). */
    async activeByServer(serverDocumentIds?: string[]): Promise<Map<string, ServerAlertSummary[]>> {
      const byServer = new Map<string, ServerAlertSummary[]>();
      for (const row of await repository.findActive(serverDocumentIds)) {
        const list = byServer.get(row.serverDocumentId) ?? [];
        list.push({ documentId: row.documentId, rule: row.rule, action: row.action, summary: row.summary ?? '', createdAt: row.createdAt });
        byServer.set(row.serverDocumentId, list);
      }
      return byServer;
    },
  };
};

export type AlertsService = ReturnType<typeof alerts>;
export default alerts;
