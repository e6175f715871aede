import * as React from 'react';

import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useFetchClient } from '@strapi/strapi/admin';

import type {
  CreateSendingDomainInput,
  ListSendingDomainsQuery,
  ListSendingDomainsResponse,
  SendingDomainDnsResponse,
  SendingDomainResponse,
} from '../../../shared/contracts/sending-domains';
import { PLUGIN_ID } from '../../../shared/plugin-id';
import { pluginUrl, toQueryString } from './client';

/** Keys of the sending-domain queries, under the plugin's root key so "invalidate everything" reaches them. */
export const sendingDomainKeys = {
  all: [PLUGIN_ID, 'sending-domains'] as const,
  list: (params: ListSendingDomainsQuery) => [...sendingDomainKeys.all, 'list', params] as const,
  dns: (documentId: string, check: boolean) => [...sendingDomainKeys.all, 'dns', documentId, check] as const,
};

const domainUrl = (documentId: string, suffix = '') =>
  pluginUrl(`/sending-domains/${encodeURIComponent(documentId)}${suffix}`);

/** The sending-domain endpoints of the admin API (shared/contracts/sending-domains.ts), with the admin's token. */
export function useSendingDomainsApi() {
  const { get, post, del } = useFetchClient();
  return React.useMemo(
    () => ({
      list: async (params: ListSendingDomainsQuery, signal?: AbortSignal) =>
        (
          await get<ListSendingDomainsResponse>(pluginUrl('/sending-domains'), {
            params: toQueryString(params),
            signal,
          })
        ).data,
      create: async (input: CreateSendingDomainInput) =>
        (await post<SendingDomainResponse>(pluginUrl('/sending-domains'), input)).data,
      remove: async (documentId: string) => {
        await del(domainUrl(documentId));
      },
      dns: async (documentId: string, check: boolean, signal?: AbortSignal) =>
        (await get<SendingDomainDnsResponse>(domainUrl(documentId, '/dns'), { params: `check=${check}`, signal })).data,
    }),
    [get, post, del]
  );
}

export function useSendingDomainList(params: ListSendingDomainsQuery) {
  const api = useSendingDomainsApi();
  return useQuery({
    queryKey: sendingDomainKeys.list(params),
    queryFn: ({ signal }) => api.list(params, signal),
    placeholderData: keepPreviousData,
  });
}

/**
 * The DNS records of a domain. `check` looks them up (a few seconds at most); the records alone come
 * first, so they show at once. Never retried: a DNS check that failed says why.
 */
export function useSendingDomainDns(
  documentId: string,
  check: boolean,
  { enabled = true }: { enabled?: boolean } = {}
) {
  const api = useSendingDomainsApi();
  return useQuery({
    queryKey: sendingDomainKeys.dns(documentId, check),
    queryFn: ({ signal }) => api.dns(documentId, check, signal),
    enabled,
    retry: false,
    staleTime: check ? 0 : Infinity,
  });
}

function useSendingDomainMutation<TInput, TResult>(mutationFn: (input: TInput) => Promise<TResult>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: sendingDomainKeys.all }),
  });
}

export function useCreateSendingDomain() {
  const api = useSendingDomainsApi();
  return useSendingDomainMutation((input: CreateSendingDomainInput) => api.create(input));
}

export function useDeleteSendingDomain() {
  const api = useSendingDomainsApi();
  return useSendingDomainMutation((documentId: string) => api.remove(documentId));
}
