import { keepPreviousData, useMutation, useQuery, useQueryClient, type QueryKey } from '@tanstack/react-query';

import type { AudienceInput } from '../../../shared/contracts/audiences';
import type {
  Campaign,
  CampaignAction,
  CampaignStatus,
  CreateCampaignInput,
  PreviewCampaignInput,
  TestSendCampaignInput,
  UpdateCampaignInput,
  ValidateTemplateInput,
} from '../../../shared/contracts/campaigns';
import type { ListResponse } from '../../../shared/contracts/common';
import type {
  CreateMailingListInput,
  CreateSubscriberInput,
  CreateSuppressionInput,
  UpdateMailingListInput,
  UpdateSubscriberInput,
} from '../../../shared/contracts/subscribers';
import {
  audienceKeys,
  useAudienceApi,
  type MailingListParams,
  type SubscriberImportInput,
  type SubscriberListParams,
  type SuppressionListParams,
} from './audience';
import { campaignKeys, useCampaignApi, type CampaignListParams } from './campaigns';

/** How often a sending campaign's progress is fetched again. */
export const PROGRESS_REFRESH_MS = 2_000;

/** The most lists the API returns in one page; enough to fill a select. */
const SELECT_PAGE_SIZE = 100;

/** Statuses whose numbers or status change without anyone touching the campaign. */
const LIVE_STATUSES: readonly CampaignStatus[] = ['sending', 'scheduled', 'paused'];
const isLive = (campaign: Campaign) =>
  campaign.status === 'sending' ||
  campaign.status === 'scheduled' ||
  // A paused campaign still finishes the messages already handed to a worker.
  (campaign.status === 'paused' && campaign.progress.inFlight > 0);

/* ---------------------------------------------------------------------------------------------
 * Campaigns
 * -------------------------------------------------------------------------------------------*/

/** A page of campaigns; fetched again every 2 s while one of them is sending (or about to). */
export function useCampaignList(params: CampaignListParams) {
  const api = useCampaignApi();
  return useQuery({
    queryKey: campaignKeys.list(params),
    queryFn: ({ signal }) => api.listCampaigns(params, signal),
    placeholderData: keepPreviousData,
    refetchInterval: (query) => (query.state.data?.data.some(isLive) ? PROGRESS_REFRESH_MS : false),
  });
}

/** One campaign with its progress; fetched again every 2 s while it is sending, scheduled or paused. */
export function useCampaign(documentId: string | undefined) {
  const api = useCampaignApi();
  return useQuery({
    queryKey: campaignKeys.detail(documentId ?? ''),
    queryFn: ({ signal }) => api.getCampaign(documentId ?? '', signal),
    enabled: Boolean(documentId),
    refetchInterval: (query) => {
      const campaign = query.state.data?.data;
      return campaign && LIVE_STATUSES.includes(campaign.status) ? PROGRESS_REFRESH_MS : false;
    },
  });
}

/** Creates a campaign (no documentId) or updates one. */
export function useSaveCampaign(documentId: string | undefined) {
  const api = useCampaignApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: CreateCampaignInput | UpdateCampaignInput) =>
      documentId ? api.updateCampaign(documentId, input) : api.createCampaign(input as CreateCampaignInput),
    onSuccess: (response) => {
      queryClient.setQueryData(campaignKeys.detail(response.data.documentId), response);
      void queryClient.invalidateQueries({ queryKey: campaignKeys.all });
    },
  });
}

export function useDeleteCampaign() {
  const api = useCampaignApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (documentId: string) => api.deleteCampaign(documentId),
    onSuccess: (_nothing, documentId) => {
      queryClient.removeQueries({ queryKey: campaignKeys.detail(documentId) });
      void queryClient.invalidateQueries({ queryKey: campaignKeys.all });
    },
  });
}

/** start, schedule, unschedule, pause, resume or cancel; the answer is the campaign as it now is. */
export function useCampaignAction(documentId: string) {
  const api = useCampaignApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ action, body }: { action: CampaignAction; body?: object }) => api.runAction(documentId, action, body),
    onSuccess: (response) => {
      queryClient.setQueryData(campaignKeys.detail(documentId), response);
      void queryClient.invalidateQueries({ queryKey: campaignKeys.all });
    },
  });
}

export function useTestSend(documentId: string) {
  const api = useCampaignApi();
  return useMutation({ mutationFn: (input: TestSendCampaignInput) => api.testSend(documentId, input) });
}

/** The rendered campaign for `input` (unsaved content, a subscriber or sample data). */
export function useCampaignPreview(documentId: string | undefined, input: PreviewCampaignInput, enabled: boolean) {
  const api = useCampaignApi();
  return useQuery({
    queryKey: campaignKeys.preview(documentId ?? '', input),
    queryFn: ({ signal }) => api.preview(documentId ?? '', input, signal),
    enabled: Boolean(documentId) && enabled,
    placeholderData: keepPreviousData,
    retry: false,
  });
}

/** Compiles the template parts and reports each error's part, line and column. */
export function useTemplateValidation(input: ValidateTemplateInput) {
  const api = useCampaignApi();
  return useQuery({
    queryKey: campaignKeys.validation(input),
    queryFn: ({ signal }) => api.validateTemplate(input, signal),
    placeholderData: keepPreviousData,
    retry: false,
  });
}

/** How many recipients an audience has now (null = not a complete audience yet: nothing is asked). */
export function useAudienceCount(audience: AudienceInput | null) {
  const api = useCampaignApi();
  return useQuery({
    queryKey: campaignKeys.audienceCount(audience ?? { type: 'lists', lists: [] }),
    queryFn: ({ signal }) => api.countAudience(audience as AudienceInput, signal),
    enabled: audience !== null,
    placeholderData: keepPreviousData,
    retry: false,
  });
}

/** The collection types of the app that have an email attribute. */
export function useAudienceSources({ enabled = true }: { enabled?: boolean } = {}) {
  const api = useCampaignApi();
  return useQuery({
    queryKey: campaignKeys.audienceSources(),
    queryFn: ({ signal }) => api.listAudienceSources(signal),
    enabled,
    staleTime: 60_000,
  });
}

/* ---------------------------------------------------------------------------------------------
 * Lists, subscribers and suppressions
 * -------------------------------------------------------------------------------------------*/

/** A page of a list API, keeping the current page on screen while the next one loads. */
function usePagedQuery<T>(queryKey: QueryKey, fetchPage: (signal: AbortSignal) => Promise<ListResponse<T>>) {
  return useQuery({ queryKey, queryFn: ({ signal }) => fetchPage(signal), placeholderData: keepPreviousData });
}

/** After any change to the audience data: lists show subscriber counts, campaigns show audience counts. */
function useRefreshAudience() {
  const queryClient = useQueryClient();
  return () => {
    void queryClient.invalidateQueries({ queryKey: audienceKeys.all });
    void queryClient.invalidateQueries({ queryKey: campaignKeys.audienceCounts() });
  };
}

export function useMailingLists(params: MailingListParams) {
  const api = useAudienceApi();
  return usePagedQuery(audienceKeys.listList(params), (signal) => api.listMailingLists(params, signal));
}

/** Every list (up to 100), sorted by name: the choices of list selects. */
export function useAllMailingLists() {
  return useMailingLists({ page: 1, pageSize: SELECT_PAGE_SIZE, sort: 'name:asc' });
}

export function useSubscriberList(params: SubscriberListParams, { enabled = true }: { enabled?: boolean } = {}) {
  const api = useAudienceApi();
  return useQuery({
    queryKey: audienceKeys.subscriberList(params),
    queryFn: ({ signal }) => api.listSubscribers(params, signal),
    placeholderData: keepPreviousData,
    enabled,
  });
}

export function useSuppressionList(params: SuppressionListParams) {
  const api = useAudienceApi();
  return usePagedQuery(audienceKeys.suppressionList(params), (signal) => api.listSuppressions(params, signal));
}

/** A mutation that refreshes the audience data once it succeeds. */
function useAudienceMutation<TInput, TResult>(mutationFn: (input: TInput) => Promise<TResult>) {
  const refresh = useRefreshAudience();
  return useMutation({ mutationFn, onSuccess: refresh });
}

export function useSaveMailingList(documentId: string | undefined) {
  const api = useAudienceApi();
  return useAudienceMutation((input: CreateMailingListInput | UpdateMailingListInput) =>
    documentId ? api.updateMailingList(documentId, input) : api.createMailingList(input as CreateMailingListInput),
  );
}

export function useDeleteMailingList() {
  const api = useAudienceApi();
  return useAudienceMutation((documentId: string) => api.deleteMailingList(documentId));
}

export function useSaveSubscriber(documentId: string | undefined) {
  const api = useAudienceApi();
  return useAudienceMutation((input: CreateSubscriberInput | UpdateSubscriberInput) =>
    documentId ? api.updateSubscriber(documentId, input) : api.createSubscriber(input as CreateSubscriberInput),
  );
}

export function useDeleteSubscriber() {
  const api = useAudienceApi();
  return useAudienceMutation((documentId: string) => api.deleteSubscriber(documentId));
}

export function useImportSubscribers() {
  const api = useAudienceApi();
  return useAudienceMutation((input: SubscriberImportInput) => api.importSubscribers(input));
}

export function useAddSuppression() {
  const api = useAudienceApi();
  return useAudienceMutation((input: CreateSuppressionInput) => api.createSuppression(input));
}

export function useDeleteSuppression() {
  const api = useAudienceApi();
  return useAudienceMutation((documentId: string) => api.deleteSuppression(documentId));
}
