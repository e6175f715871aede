import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import type { ListResponse } from '../../../shared/contracts/common';
import {
  createMailingListSchema,
  listMailingListsQuerySchema,
  updateMailingListSchema,
  type MailingList,
} from '../../../shared/contracts/subscribers';
import { createMailingListRepository, type ListCounts, type MailingListEntity } from '../repositories/mailing-lists';
import type { PageParams } from '../repositories/subscribers';
import type { Page } from '../repositories/types';
import { fieldError, parseInput } from '../utils/validation';

/** One page of a list endpoint: the rows in API shape and the pagination block. */
export const readPage = async <Entity, Dto>(
  findPage: (params: PageParams) => Promise<Page<Entity>>,
  { page, pageSize, sort, filters }: { page: number; pageSize: number; sort: string; filters: Record<string, unknown> },
  toDtos: (rows: Entity[]) => Dto[] | Promise<Dto[]>
): Promise<ListResponse<Dto>> => {
  const { results, total } = await findPage({ filters, sort, start: (page - 1) * pageSize, limit: pageSize });
  return {
    data: await toDtos(results),
    meta: { pagination: { page, pageSize, pageCount: Math.ceil(total / pageSize), total } },
  };
};

const toMailingListDto = (list: MailingListEntity, counts: ListCounts | undefined): MailingList => ({
  documentId: list.documentId,
  name: list.name,
  description: list.description ?? null,
  subscriberCount: counts?.subscriberCount ?? 0,
  subscribedCount: counts?.subscribedCount ?? 0,
  createdAt: list.createdAt,
  updatedAt: list.updatedAt,
});

/** Mailing lists: unique names, subscriber counts, and no deleting a list a live campaign still uses. */
const mailingLists = ({ strapi }: { strapi: Core.Strapi }) => {
  const repository = createMailingListRepository(strapi);

  const requireList = async (documentId: string): Promise<MailingListEntity> => {
    const list = await repository.findOne(documentId);
    if (!list) throw new errors.NotFoundError(`Mailing list ${documentId} not found`);
    return list;
  };

  const withCounts = async (lists: MailingListEntity[]): Promise<MailingList[]> => {
    const counts = await repository.counts(lists.map((list) => list.id));
    return lists.map((list) => toMailingListDto(list, counts.get(list.id)));
  };

  const checkName = async (name: string | undefined, exceptDocumentId?: string) => {
    if (name !== undefined && (await repository.findByName(name, exceptDocumentId))) {
      fieldError('name', 'is already used by another list');
    }
  };

  const get = async (documentId: string): Promise<MailingList> => {
    const [list] = await withCounts([await requireList(documentId)]);
    return list!;
  };

  return {
    async list(query: unknown): Promise<ListResponse<MailingList>> {
      const { page, pageSize, sort, q } = parseInput(listMailingListsQuerySchema, query);
      const filters: Record<string, unknown> = {};
      if (q) filters.$or = [{ name: { $containsi: q } }, { description: { $containsi: q } }];
      return readPage(repository.findPage, { page, pageSize, sort, filters }, withCounts);
    },

    get,

    async create(input: unknown): Promise<MailingList> {
      const data = parseInput(createMailingListSchema, input);
      const created = await strapi.db.transaction(async () => {
        await checkName(data.name);
        return repository.create(data);
      });
      return toMailingListDto(created, undefined);
    },

    async update(documentId: string, input: unknown): Promise<MailingList> {
      const data = parseInput(updateMailingListSchema, input);
      await strapi.db.transaction(async () => {
        await requireList(documentId);
        await checkName(data.name, documentId);
        await repository.update(documentId, data);
      });
      return get(documentId);
    },

    /** Deletes the list and its links; its subscribers stay (they may be in other lists). */
    async delete(documentId: string): Promise<void> {
      await requireList(documentId);
      const users = await repository.liveCampaignsUsing(documentId);
      if (users.length > 0) {
        throw new errors.ApplicationError(
          `This list is in the audience of campaign(s) not yet finished: ${users.map((campaign) => campaign.name).join(', ')}; change their audience first`
        );
      }
      await repository.delete(documentId);
    },
  };
};

export type MailingListsService = ReturnType<typeof mailingLists>;
export default mailingLists;
