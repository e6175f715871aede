import type { Core } from '@strapi/strapi';

import type { KeySource } from '../../../shared/contracts/sending-domains';
import { documentsOf } from './documents';
import type { Page } from './types';

export const SENDING_DOMAIN_UID = 'plugin::multi-smtp.sending-domain' as const;

/** A sending domain row as the document service returns it, including the private encrypted key. */
export interface SendingDomainEntity {
  id: number;
  documentId: string;
  domain: string;
  selector: string;
  privateKeyEncrypted: string;
  publicKey: string;
  keyBits: number;
  keySource: KeySource;
  createdAt: string;
  updatedAt: string;
}

export interface SendingDomainListParams {
  filters: Record<string, unknown>;
  sort: string;
  start: number;
  limit: number;
}

/** Database access for sending domains; the only place that talks to the document service for them. */
export const createSendingDomainRepository = (strapi: Core.Strapi) => {
  const documents = () => documentsOf<SendingDomainEntity>(strapi, SENDING_DOMAIN_UID);

  return {
    async findPage({ filters, sort, start, limit }: SendingDomainListParams): Promise<Page<SendingDomainEntity>> {
      const [results, total] = await Promise.all([
        documents().findMany({ filters, sort, start, limit }),
        documents().count({ filters }),
      ]);
      return { results, total };
    },

    findAll(): Promise<SendingDomainEntity[]> {
      return documents().findMany({ sort: 'domain:asc' });
    },

    findOne(documentId: string): Promise<SendingDomainEntity | null> {
      return documents().findOne({ documentId });
    },

    findByDomain(domain: string): Promise<SendingDomainEntity | null> {
      return documents().findFirst({ filters: { domain: { $eqi: domain } } });
    },

    create(
      data: Omit<SendingDomainEntity, 'id' | 'documentId' | 'createdAt' | 'updatedAt'>
    ): Promise<SendingDomainEntity> {
      return documents().create({ data: { ...data } });
    },

    update(
      documentId: string,
      data: Partial<Pick<SendingDomainEntity, 'privateKeyEncrypted'>>
    ): Promise<SendingDomainEntity> {
      return documents().update({ documentId, data });
    },

    async delete(documentId: string): Promise<void> {
      await documents().delete({ documentId });
    },
  };
};

export type SendingDomainRepository = ReturnType<typeof createSendingDomainRepository>;
