import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import type { CreateGroupInput, UpdateGroupInput } from '../../../shared/contracts/groups';
import type { MessageLogEntry } from '../../../shared/contracts/messages';
import type { CreateServerInput, UpdateServerInput } from '../../../shared/contracts/servers';
import type { SuspendServerInput } from '../../../shared/contracts/status';
import type { TestEmailInput } from '../../../shared/contracts/tests';
import {
  queryKeys,
  useApi,
  type GroupListParams,
  type MessageListParams,
  type ServerListParams,
} from './client';

/** The most groups (or servers) the API returns in one page; enough to fill a select. */
const SELECT_PAGE_SIZE = 100;

/** How often the live status (health, quotas, queue depth) is fetched again while a page shows it. */
export const STATUS_REFRESH_MS = 5_000;

/* ---------------------------------------------------------------------------------------------
 * Queries
 * -------------------------------------------------------------------------------------------*/

export function useServerList(params: ServerListParams) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.serverList(params),
    queryFn: ({ signal }) => api.listServers(params, signal),
    // Keep showing the current page while the next one loads, instead of flashing a loader.
    placeholderData: keepPreviousData,
  });
}

export function useServer(documentId: string | undefined) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.server(documentId ?? ''),
    queryFn: ({ signal }) => api.getServer(documentId ?? '', signal),
    enabled: Boolean(documentId),
  });
}

export function useGroupList(params: GroupListParams, { enabled = true }: { enabled?: boolean } = {}) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.groupList(params),
    queryFn: ({ signal }) => api.listGroups(params, signal),
    placeholderData: keepPreviousData,
    enabled,
  });
}

/**
 * Every group (up to 100), sorted by name: the choices of the group and fallback selects.
 * `enabled: false` for admins who may not list groups (the campaign editor without `servers.read`).
 */
export function useAllGroups(options: { enabled?: boolean } = {}) {
  return useGroupList({ page: 1, pageSize: SELECT_PAGE_SIZE, sort: 'name:asc' }, options);
}

export function useGroup(documentId: string | undefined) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.group(documentId ?? ''),
    queryFn: ({ signal }) => api.getGroup(documentId ?? '', signal),
    enabled: Boolean(documentId),
  });
}

/** Every server (up to 100), sorted by name: the choices of the delivery log's server filter. */
export function useAllServers() {
  return useServerList({ page: 1, pageSize: SELECT_PAGE_SIZE, sort: 'name:asc' });
}

/**
 * The engine's live state of every server and group (health, quota use, warm-up, queue depth),
 * fetched again every few seconds while a page uses it. Lists join it to their rows by documentId.
 */
export function useStatus({ enabled = true }: { enabled?: boolean } = {}) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.statusOverview(),
    queryFn: ({ signal }) => api.getStatus(signal),
    enabled,
    refetchInterval: STATUS_REFRESH_MS,
  });
}

/** One saved server's live state, fetched again every few seconds. */
export function useServerStatus(documentId: string | undefined) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.serverStatus(documentId ?? ''),
    queryFn: ({ signal }) => api.getServerStatus(documentId ?? '', signal),
    enabled: Boolean(documentId),
    refetchInterval: STATUS_REFRESH_MS,
  });
}

export function useMessageList(params: MessageListParams) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.messageList(params),
    queryFn: ({ signal }) => api.listMessages(params, signal),
    placeholderData: keepPreviousData,
  });
}

/** One message of the delivery log; `initial` (its row in the list) shows until the full entry arrives. */
export function useMessage(id: string | undefined, initial?: MessageLogEntry) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.message(id ?? ''),
    queryFn: ({ signal }) => api.getMessage(id ?? '', signal),
    enabled: Boolean(id),
    placeholderData: initial ? { data: initial } : undefined,
  });
}

/* ---------------------------------------------------------------------------------------------
 * Mutations
 *
 * Servers and groups show each other (a server's group, a group's members and their shares), so a
 * change to either refreshes both.
 * -------------------------------------------------------------------------------------------*/

/** Creates a server (no documentId) or updates one. */
export function useSaveServer(documentId: string | undefined) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: CreateServerInput | UpdateServerInput) =>
      documentId ? api.updateServer(documentId, input) : api.createServer(input as CreateServerInput),
    onSuccess: (response) => {
      // Show the saved server at once; everything else refreshes in the background.
      queryClient.setQueryData(queryKeys.server(response.data.documentId), response);
      void queryClient.invalidateQueries({ queryKey: queryKeys.all });
    },
  });
}

export function useDeleteServer() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (documentId: string) => api.deleteServer(documentId),
    onSuccess: (_nothing, documentId) => {
      // Drop the deleted server first, or refreshing would ask the API for it again (a 404).
      queryClient.removeQueries({ queryKey: queryKeys.server(documentId) });
      void queryClient.invalidateQueries({ queryKey: queryKeys.all });
    },
  });
}

/** Creates a group (no documentId) or updates one. */
export function useSaveGroup(documentId: string | undefined) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: CreateGroupInput | UpdateGroupInput) =>
      documentId ? api.updateGroup(documentId, input) : api.createGroup(input as CreateGroupInput),
    onSuccess: (response) => {
      queryClient.setQueryData(queryKeys.group(response.data.documentId), response);
      void queryClient.invalidateQueries({ queryKey: queryKeys.all });
    },
  });
}

export function useDeleteGroup() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (documentId: string) => api.deleteGroup(documentId),
    onSuccess: (_nothing, documentId) => {
      queryClient.removeQueries({ queryKey: queryKeys.group(documentId) });
      void queryClient.invalidateQueries({ queryKey: queryKeys.all });
    },
  });
}

/** Runs a live SMTP session against a saved server. Nothing is cached: each run is new. */
export function useTestConnection(documentId: string) {
  const api = useApi();
  return useMutation({ mutationFn: () => api.testConnection(documentId) });
}

export function useSendTestEmail(documentId: string) {
  const api = useApi();
  return useMutation({ mutationFn: (input: TestEmailInput) => api.sendTestEmail(documentId, input) });
}

/** Takes a server out of rotation for a number of minutes, by hand. */
export function useSuspendServer(documentId: string) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: SuspendServerInput) => api.suspendServer(documentId, input),
    onSuccess: (response) => {
      queryClient.setQueryData(queryKeys.serverStatus(documentId), response);
      void queryClient.invalidateQueries({ queryKey: queryKeys.status() });
    },
  });
}

/** Lifts a server's suspension (breaker, rule or manual) and throttle. */
export function useResumeServer(documentId: string) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => api.resumeServer(documentId),
    onSuccess: (response) => {
      queryClient.setQueryData(queryKeys.serverStatus(documentId), response);
      void queryClient.invalidateQueries({ queryKey: queryKeys.status() });
    },
  });
}
