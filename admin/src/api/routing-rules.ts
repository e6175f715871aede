import * as React from 'react';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useFetchClient } from '@strapi/strapi/admin';

import type {
  CreateRoutingRuleInput,
  RoutingRule,
  TestRoutingInput,
  TestRoutingResult,
  UpdateRoutingRuleInput,
} from '../../../shared/contracts/routing-rules';
import { PLUGIN_ID } from '../../../shared/plugin-id';
import { pluginUrl } from './client';

/** Keys of the routing-rule queries, under the plugin's root key so "invalidate everything" reaches them. */
export const routingRuleKeys = {
  all: [PLUGIN_ID, 'routing-rules'] as const,
  list: () => [...routingRuleKeys.all, 'list'] as const,
};

const ruleUrl = (documentId: string) => pluginUrl(`/routing-rules/${encodeURIComponent(documentId)}`);

/** The routing-rule endpoints of the admin API (shared/contracts/routing-rules.ts), with the admin's token. */
export function useRoutingRulesApi() {
  const { get, post, put, del } = useFetchClient();
  return React.useMemo(
    () => ({
      list: async (signal?: AbortSignal) => (await get<{ data: RoutingRule[] }>(pluginUrl('/routing-rules'), { signal })).data,
      create: async (input: CreateRoutingRuleInput) => (await post<{ data: RoutingRule }>(pluginUrl('/routing-rules'), input)).data,
      update: async (documentId: string, input: UpdateRoutingRuleInput) =>
        (await put<{ data: RoutingRule }>(ruleUrl(documentId), input)).data,
      remove: async (documentId: string) => {
        await del(ruleUrl(documentId));
      },
      reorder: async (ids: string[]) => (await put<{ data: RoutingRule[] }>(pluginUrl('/routing-rules/order'), { ids })).data,
      test: async (input: TestRoutingInput) =>
        (await post<{ data: TestRoutingResult }>(pluginUrl('/routing-rules/test'), input)).data.data,
    }),
    [get, post, put, del]
  );
}

export function useRoutingRuleList() {
  const api = useRoutingRulesApi();
  return useQuery({ queryKey: routingRuleKeys.list(), queryFn: ({ signal }) => api.list(signal) });
}

/** A change to the rules; the list is read again after it. */
export function useRoutingRuleMutation<TInput, TResult>(mutationFn: (input: TInput) => Promise<TResult>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: routingRuleKeys.all }),
  });
}

/** "Where would this message go?": not cached, each run asks again. */
export function useTestRouting() {
  const api = useRoutingRulesApi();
  return useMutation({ mutationFn: (input: TestRoutingInput) => api.test(input) });
}
