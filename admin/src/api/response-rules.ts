import * as React from 'react';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useFetchClient } from '@strapi/strapi/admin';

import type {
  CustomResponseRule,
  ResponseRuleInput,
  ResponseRulesList,
  ShippedResponseRule,
} from '../../../shared/contracts/response-rules';
import { PLUGIN_ID } from '../../../shared/plugin-id';
import { pluginUrl } from './client';

/** Keys of the response-rule queries, under the plugin's root key so "invalidate everything" reaches them. */
export const responseRuleKeys = {
  all: [PLUGIN_ID, 'response-rules'] as const,
};

const ruleUrl = (documentId: string) => pluginUrl(`/response-rules/${encodeURIComponent(documentId)}`);

/** The response-rule endpoints of the admin API (shared/contracts/response-rules.ts), with the admin's token. */
export function useResponseRulesApi() {
  const { get, post, put, del } = useFetchClient();
  return React.useMemo(
    () => ({
      list: async (signal?: AbortSignal) =>
        (await get<{ data: ResponseRulesList }>(pluginUrl('/response-rules'), { signal })).data.data,
      create: async (input: ResponseRuleInput) =>
        (await post<{ data: CustomResponseRule }>(pluginUrl('/response-rules'), input)).data.data,
      update: async (documentId: string, input: ResponseRuleInput) =>
        (await put<{ data: CustomResponseRule }>(ruleUrl(documentId), input)).data.data,
      remove: async (documentId: string) => {
        await del(ruleUrl(documentId));
      },
      setShipped: async (ruleId: string, enabled: boolean) =>
        (
          await put<{ data: ShippedResponseRule }>(pluginUrl(`/response-rules/shipped/${encodeURIComponent(ruleId)}`), {
            enabled,
          })
        ).data.data,
    }),
    [get, post, put, del]
  );
}

export function useResponseRules() {
  const api = useResponseRulesApi();
  return useQuery({ queryKey: responseRuleKeys.all, queryFn: ({ signal }) => api.list(signal) });
}

function useResponseRuleMutation<TInput, TResult>(mutationFn: (input: TInput) => Promise<TResult>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: responseRuleKeys.all }),
  });
}

export function useSaveResponseRule() {
  const api = useResponseRulesApi();
  return useResponseRuleMutation(({ documentId, input }: { documentId: string | null; input: ResponseRuleInput }) =>
    documentId ? api.update(documentId, input) : api.create(input)
  );
}

export function useDeleteResponseRule() {
  const api = useResponseRulesApi();
  return useResponseRuleMutation((documentId: string) => api.remove(documentId));
}

export function useToggleShippedRule() {
  const api = useResponseRulesApi();
  return useResponseRuleMutation(({ ruleId, enabled }: { ruleId: string; enabled: boolean }) =>
    api.setShipped(ruleId, enabled)
  );
}
