import * as React from 'react';

import { useFetchClient } from '@strapi/strapi/admin';

import type { AudienceCount, AudienceInput, AudienceSource } from '../../../shared/contracts/audiences';
import type {
  Campaign,
  CampaignAction,
  CampaignPreview,
  CampaignProgress,
  CampaignStatus,
  CreateCampaignInput,
  PreviewCampaignInput,
  TestSendCampaignInput,
  TestSendResponse,
  UpdateCampaignInput,
  ValidateTemplateInput,
  ValidateTemplateResult,
} from '../../../shared/contracts/campaigns';
import type { ListResponse, SingleResponse } from '../../../shared/contracts/common';
import { PLUGIN_ID } from '../../../shared/plugin-id';
import { pluginUrl, toQueryString } from './client';

/** Query parameters of GET /campaigns. */
export interface CampaignListParams {
  page?: number;
  pageSize?: number;
  sort?: string;
  q?: string;
  /** One status or several, comma-separated. */
  status?: CampaignStatus | string;
}

/** Keys of the campaign queries, under the plugin's root key so "invalidate everything" reaches them. */
export const campaignKeys = {
  all: [PLUGIN_ID, 'campaigns'] as const,
  list: (params: CampaignListParams) => [...campaignKeys.all, 'list', params] as const,
  detail: (documentId: string) => [...campaignKeys.all, 'detail', documentId] as const,
  progress: (documentId: string) => [...campaignKeys.all, 'progress', documentId] as const,
  preview: (documentId: string, input: PreviewCampaignInput) => [...campaignKeys.all, 'preview', documentId, input] as const,
  validation: (input: ValidateTemplateInput) => [...campaignKeys.all, 'validate', input] as const,
  audienceCounts: () => [PLUGIN_ID, 'audiences', 'count'] as const,
  audienceCount: (audience: AudienceInput) => [...campaignKeys.audienceCounts(), audience] as const,
  audienceSources: () => [PLUGIN_ID, 'audiences', 'sources'] as const,
};

const campaignUrl = (documentId: string, suffix = '') => pluginUrl(`/campaigns/${encodeURIComponent(documentId)}${suffix}`);

/** The campaign half of the admin API (campaigns, previews, test sends, audience counts). */
export function useCampaignApi() {
  const { get, post, put, del } = useFetchClient();

  return React.useMemo(
    () => ({
      listCampaigns: async (params: CampaignListParams, signal?: AbortSignal) =>
        (await get<ListResponse<Campaign>>(pluginUrl('/campaigns'), { params: toQueryString(params), signal })).data,

      getCampaign: async (documentId: string, signal?: AbortSignal) =>
        (await get<SingleResponse<Campaign>>(campaignUrl(documentId), { signal })).data,

      createCampaign: async (input: CreateCampaignInput) =>
        (await post<SingleResponse<Campaign>>(pluginUrl('/campaigns'), input)).data,

      updateCampaign: async (documentId: string, input: UpdateCampaignInput) =>
        (await put<SingleResponse<Campaign>>(campaignUrl(documentId), input)).data,

      deleteCampaign: async (documentId: string) => {
        await del(campaignUrl(documentId));
      },

      /** start, schedule (with `{ scheduledAt }`), unschedule, pause, resume or cancel. */
      runAction: async (documentId: string, action: CampaignAction, body?: object) =>
        (await post<SingleResponse<Campaign>>(campaignUrl(documentId, `/${action}`), body ?? {})).data,

      getProgress: async (documentId: string, signal?: AbortSignal) =>
        (await get<SingleResponse<CampaignProgress>>(campaignUrl(documentId, '/progress'), { signal })).data,

      preview: async (documentId: string, input: PreviewCampaignInput, signal?: AbortSignal) =>
        (await post<SingleResponse<CampaignPreview>>(campaignUrl(documentId, '/preview'), input, { signal })).data,

      testSend: async (documentId: string, input: TestSendCampaignInput) =>
        (await post<SingleResponse<TestSendResponse>>(campaignUrl(documentId, '/test-send'), input)).data,

      validateTemplate: async (input: ValidateTemplateInput, signal?: AbortSignal) =>
        (await post<SingleResponse<ValidateTemplateResult>>(pluginUrl('/campaigns/validate-template'), input, { signal }))
          .data,

      countAudience: async (audience: AudienceInput, signal?: AbortSignal) =>
        (await post<SingleResponse<AudienceCount>>(pluginUrl('/audiences/count'), { audience }, { signal })).data,

      listAudienceSources: async (signal?: AbortSignal) =>
        (await get<SingleResponse<AudienceSource[]>>(pluginUrl('/audiences/sources'), { signal })).data,
    }),
    [get, post, put, del],
  );
}
