import * as React from 'react';

import { useFetchClient } from '@strapi/strapi/admin';

import type { ListResponse, SingleResponse } from '../../../shared/contracts/common';
import type { CreateGroupInput, SmtpGroup, UpdateGroupInput } from '../../../shared/contracts/groups';
import type { MessageLogEntry, MessageStatus } from '../../../shared/contracts/messages';
import type { CreateServerInput, SmtpServer, UpdateServerInput } from '../../../shared/contracts/servers';
import type { ServerStatus, StatusResponse, SuspendServerInput } from '../../../shared/contracts/status';
import type { ConnectionTestResult, TestEmailInput, TestEmailResult } from '../../../shared/contracts/tests';
import { PLUGIN_ID } from '../../../shared/plugin-id';

/** Query parameters of GET /servers (all optional; the server fills in defaults). */
export interface ServerListParams {
  page?: number;
  pageSize?: number;
  sort?: string;
  q?: string;
  /** A group's documentId, or 'none' for servers in no group. */
  group?: string;
  enabled?: 'true' | 'false';
}

/** Query parameters of GET /groups. */
export interface GroupListParams {
  page?: number;
  pageSize?: number;
  sort?: string;
  q?: string;
}

/** Query parameters of GET /messages (the delivery log). */
export interface MessageListParams {
  page?: number;
  pageSize?: number;
  sort?: 'queuedAt:desc' | 'queuedAt:asc';
  /** Part of a recipient address. */
  recipient?: string;
  status?: MessageStatus;
  /** A server's documentId. */
  server?: string;
  /** A group's slug. */
  group?: string;
  /** A campaign's documentId. */
  campaign?: string;
  /** ISO date-times bounding the time the message was queued. */
  from?: string;
  to?: string;
}

/**
 * Keys of every cached query, built in one place so invalidating "all servers" or "one group"
 * cannot drift from the keys the pages use.
 */
export const queryKeys = {
  all: [PLUGIN_ID] as const,
  servers: () => [...queryKeys.all, 'servers'] as const,
  serverList: (params: ServerListParams) => [...queryKeys.servers(), 'list', params] as const,
  server: (documentId: string) => [...queryKeys.servers(), 'detail', documentId] as const,
  groups: () => [...queryKeys.all, 'groups'] as const,
  groupList: (params: GroupListParams) => [...queryKeys.groups(), 'list', params] as const,
  group: (documentId: string) => [...queryKeys.groups(), 'detail', documentId] as const,
  /** Live engine state: the overview of every server and group, and one server's status. */
  status: () => [...queryKeys.all, 'status'] as const,
  statusOverview: () => [...queryKeys.status(), 'overview'] as const,
  serverStatus: (documentId: string) => [...queryKeys.status(), 'server', documentId] as const,
  messages: () => [...queryKeys.all, 'messages'] as const,
  messageList: (params: MessageListParams) => [...queryKeys.messages(), 'list', params] as const,
  message: (id: string) => [...queryKeys.messages(), 'detail', id] as const,
};

/**
 * Strapi's fetch client does not URL-encode params, so the query string is built here.
 * Empty values are left out so the server applies its defaults.
 */
export const toQueryString = (params: object) => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') {
      search.set(key, String(value));
    }
  }
  return search.toString();
};

const url = (path: string) => `/${PLUGIN_ID}${path}`;
/** The admin API path of one of the plugin's routes, e.g. `/multi-smtp/campaigns`. */
export const pluginUrl = url;
const serverUrl = (documentId: string, suffix = '') => url(`/servers/${encodeURIComponent(documentId)}${suffix}`);
const groupUrl = (documentId: string) => url(`/groups/${encodeURIComponent(documentId)}`);
const messageUrl = (id: string) => url(`/messages/${encodeURIComponent(id)}`);

/**
 * The plugin's admin API as typed functions. Built on Strapi's `useFetchClient`, which adds the
 * admin's token. Each function returns the response body (`{ data }` or `{ data, meta }`); queries
 * pass react-query's `signal` so a query nobody waits for any more is cancelled.
 */
export function useApi() {
  const { get, post, put, del } = useFetchClient();

  return React.useMemo(
    () => ({
      listServers: async (params: ServerListParams, signal?: AbortSignal) =>
        (await get<ListResponse<SmtpServer>>(url('/servers'), { params: toQueryString(params), signal })).data,

      getServer: async (documentId: string, signal?: AbortSignal) =>
        (await get<SingleResponse<SmtpServer>>(serverUrl(documentId), { signal })).data,

      createServer: async (input: CreateServerInput) =>
        (await post<SingleResponse<SmtpServer>>(url('/servers'), input)).data,

      updateServer: async (documentId: string, input: UpdateServerInput) =>
        (await put<SingleResponse<SmtpServer>>(serverUrl(documentId), input)).data,

      deleteServer: async (documentId: string) => {
        await del(serverUrl(documentId));
      },

      testConnection: async (documentId: string) =>
        (await post<SingleResponse<ConnectionTestResult>>(serverUrl(documentId, '/test-connection'))).data,

      sendTestEmail: async (documentId: string, input: TestEmailInput) =>
        (await post<SingleResponse<TestEmailResult>>(serverUrl(documentId, '/test-email'), input)).data,

      listGroups: async (params: GroupListParams, signal?: AbortSignal) =>
        (await get<ListResponse<SmtpGroup>>(url('/groups'), { params: toQueryString(params), signal })).data,

      getGroup: async (documentId: string, signal?: AbortSignal) =>
        (await get<SingleResponse<SmtpGroup>>(groupUrl(documentId), { signal })).data,

      createGroup: async (input: CreateGroupInput) =>
        (await post<SingleResponse<SmtpGroup>>(url('/groups'), input)).data,

      updateGroup: async (documentId: string, input: UpdateGroupInput) =>
        (await put<SingleResponse<SmtpGroup>>(groupUrl(documentId), input)).data,

      deleteGroup: async (documentId: string) => {
        await del(groupUrl(documentId));
      },

      getStatus: async (signal?: AbortSignal) => (await get<StatusResponse>(url('/status'), { signal })).data,

      getServerStatus: async (documentId: string, signal?: AbortSignal) =>
        (await get<SingleResponse<ServerStatus>>(serverUrl(documentId, '/status'), { signal })).data,

      suspendServer: async (documentId: string, input: SuspendServerInput) =>
        (await post<SingleResponse<ServerStatus>>(serverUrl(documentId, '/suspend'), input)).data,

      resumeServer: async (documentId: string) =>
        (await post<SingleResponse<ServerStatus>>(serverUrl(documentId, '/resume'))).data,

      listMessages: async (params: MessageListParams, signal?: AbortSignal) =>
        (await get<ListResponse<MessageLogEntry>>(url('/messages'), { params: toQueryString(params), signal })).data,

      getMessage: async (id: string, signal?: AbortSignal) =>
        (await get<SingleResponse<MessageLogEntry>>(messageUrl(id), { signal })).data,
    }),
    [get, post, put, del],
  );
}

export type Api = ReturnType<typeof useApi>;
