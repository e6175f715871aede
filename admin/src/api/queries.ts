import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import type { CreateGroupInput, UpdateGroupInput } from '../../../shared/contracts/groups';
import type { CreateServerInput, UpdateServerInput } from '../../../shared/contracts/servers';
import type { TestEmailInput } from '../../../shared/contracts/tests';
import { queryKeys, useApi, type GroupListParams, type ServerListParams } from './client';

/** The most groups the API returns in one page; enough to fill a select. */
const ALL_GROUPS_PAGE_SIZE = 100;

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

export function useGroupList(params: GroupListParams) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.groupList(params),
    queryFn: ({ signal }) => api.listGroups(params, signal),
    placeholderData: keepPreviousData,
  });
}

/** Every group (up to 100), sorted by name: the choices of the group and fallback selects. */
export function useAllGroups() {
  return useGroupList({ page: 1, pageSize: ALL_GROUPS_PAGE_SIZE, sort: 'name:asc' });
}

export function useGroup(documentId: string | undefined) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.group(documentId ?? ''),
    queryFn: ({ signal }) => api.getGroup(documentId ?? '', signal),
    enabled: Boolean(documentId),
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
