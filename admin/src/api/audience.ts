import * as React from 'react';

import { useFetchClient } from '@strapi/strapi/admin';

import type { ListResponse, SingleResponse } from '../../../shared/contracts/common';
import type {
  CreateMailingListInput,
  CreateSubscriberInput,
  CreateSuppressionInput,
  MailingList,
  Subscriber,
  SubscriberImportReport,
  SubscriberStatus,
  Suppression,
  SuppressionKind,
  SuppressionReason,
  UpdateMailingListInput,
  UpdateSubscriberInput,
} from '../../../shared/contracts/subscribers';
import { PLUGIN_ID } from '../../../shared/plugin-id';
import { pluginUrl, toQueryString } from './client';

/** Query parameters of GET /lists. */
export interface MailingListParams {
  page?: number;
  pageSize?: number;
  sort?: string;
  q?: string;
}

/** The filters of GET /subscribers, shared with the CSV export. */
export interface SubscriberFilters {
  q?: string;
  status?: SubscriberStatus;
  /** A mailing list's documentId. */
  list?: string;
}

export interface SubscriberListParams extends SubscriberFilters {
  page?: number;
  pageSize?: number;
  sort?: string;
}

/** The filters of GET /suppressions, shared with the CSV export. */
export interface SuppressionFilters {
  q?: string;
  kind?: SuppressionKind;
  reason?: SuppressionReason;
}

export interface SuppressionListParams extends SuppressionFilters {
  page?: number;
  pageSize?: number;
  sort?: string;
}

/** The options of a CSV import, sent as multipart fields beside the file. */
export interface SubscriberImportInput {
  file: File;
  /** Mailing list documentIds every imported row joins. */
  lists: string[];
  updateExisting: boolean;
}

/** Keys of the audience queries. A change to lists or subscribers refreshes `all` (counts show in both). */
export const audienceKeys = {
  all: [PLUGIN_ID, 'audience'] as const,
  lists: () => [...audienceKeys.all, 'lists'] as const,
  listList: (params: MailingListParams) => [...audienceKeys.lists(), params] as const,
  subscribers: () => [...audienceKeys.all, 'subscribers'] as const,
  subscriberList: (params: SubscriberListParams) => [...audienceKeys.subscribers(), params] as const,
  suppressions: () => [...audienceKeys.all, 'suppressions'] as const,
  suppressionList: (params: SuppressionListParams) => [...audienceKeys.suppressions(), params] as const,
};

const itemUrl = (collection: 'lists' | 'subscribers' | 'suppressions', documentId: string) =>
  pluginUrl(`/${collection}/${encodeURIComponent(documentId)}`);

/** A CSV file the API sent, and the name to save it under. */
export interface CsvDownload {
  blob: Blob;
  fileName: string;
}

/** The file name from a Content-Disposition header, or `fallback`. */
const fileNameOf = (headers: Headers | undefined, fallback: string) => {
  const disposition = headers?.get('content-disposition') ?? '';
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  return match ? decodeURIComponent(match[1]) : fallback;
};

/** Today as YYYY-MM-DD, for default file names. */
const today = () => new Date().toISOString().slice(0, 10);

/**
 * Mailing lists, subscribers (with CSV import and export) and suppressions. Exports go through the
 * admin's fetch client too, so they carry the admin token; the page saves the returned Blob.
 */
export function useAudienceApi() {
  const { get, post, put, del } = useFetchClient();

  return React.useMemo(() => {
    const download = async (path: string, params: object, fallbackName: string): Promise<CsvDownload> => {
      const response = await get<Blob>(pluginUrl(path), { params: toQueryString(params), responseType: 'blob' });
      return { blob: response.data, fileName: fileNameOf(response.headers, fallbackName) };
    };

    return {
      listMailingLists: async (params: MailingListParams, signal?: AbortSignal) =>
        (await get<ListResponse<MailingList>>(pluginUrl('/lists'), { params: toQueryString(params), signal })).data,

      createMailingList: async (input: CreateMailingListInput) =>
        (await post<SingleResponse<MailingList>>(pluginUrl('/lists'), input)).data,

      updateMailingList: async (documentId: string, input: UpdateMailingListInput) =>
        (await put<SingleResponse<MailingList>>(itemUrl('lists', documentId), input)).data,

      deleteMailingList: async (documentId: string) => {
        await del(itemUrl('lists', documentId));
      },

      listSubscribers: async (params: SubscriberListParams, signal?: AbortSignal) =>
        (await get<ListResponse<Subscriber>>(pluginUrl('/subscribers'), { params: toQueryString(params), signal })).data,

      createSubscriber: async (input: CreateSubscriberInput) =>
        (await post<SingleResponse<Subscriber>>(pluginUrl('/subscribers'), input)).data,

      updateSubscriber: async (documentId: string, input: UpdateSubscriberInput) =>
        (await put<SingleResponse<Subscriber>>(itemUrl('subscribers', documentId), input)).data,

      deleteSubscriber: async (documentId: string) => {
        await del(itemUrl('subscribers', documentId));
      },

      importSubscribers: async ({ file, lists, updateExisting }: SubscriberImportInput) => {
        const form = new FormData();
        form.append('file', file, file.name);
        form.append('lists', lists.join(','));
        form.append('updateExisting', String(updateExisting));
        const body = (
          await post<SubscriberImportReport | SingleResponse<SubscriberImportReport>>(pluginUrl('/subscribers/import'), form)
        ).data;
        // The import answers with the report itself, not wrapped in `data` as the other routes are.
        return 'data' in body ? body.data : body;
      },

      exportSubscribers: (filters: SubscriberFilters) =>
        download('/subscribers/export', filters, `subscribers-${today()}.csv`),

      listSuppressions: async (params: SuppressionListParams, signal?: AbortSignal) =>
        (await get<ListResponse<Suppression>>(pluginUrl('/suppressions'), { params: toQueryString(params), signal })).data,

      createSuppression: async (input: CreateSuppressionInput) =>
        (await post<SingleResponse<Suppression>>(pluginUrl('/suppressions'), input)).data,

      deleteSuppression: async (documentId: string) => {
        await del(itemUrl('suppressions', documentId));
      },

      exportSuppressions: (filters: SuppressionFilters) =>
        download('/suppressions/export', filters, `suppressions-${today()}.csv`),
    };
  }, [get, post, put, del]);
}

/** Saves a downloaded file through a temporary link (the browser shows its usual download). */
export function saveDownload({ blob, fileName }: CsvDownload) {
  const href = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = href;
  link.download = fileName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  // Give the browser a moment to start the download before the URL goes.
  setTimeout(() => URL.revokeObjectURL(href), 1000);
}
