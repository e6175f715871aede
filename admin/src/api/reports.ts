import * as React from 'react';

import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useFetchClient } from '@strapi/strapi/admin';

import type {
  Alert,
  AlertResponse,
  AlertStatus,
  ListAlertsResponse,
  ProtectionRuleId,
} from '../../../shared/contracts/alerts';
import type { ListResponse } from '../../../shared/contracts/common';
import type { MessageLogEntry } from '../../../shared/contracts/messages';
import type {
  CampaignReportResponse,
  CampaignReportTable,
  GroupsReportResponse,
  OverviewReportResponse,
  ReportInterval,
  ServerReportResponse,
  ServersReportResponse,
} from '../../../shared/contracts/reports';
import { PLUGIN_ID } from '../../../shared/plugin-id';
import type { CsvDownload } from './audience';
import { pluginUrl, queryKeys, toQueryString, type MessageListParams } from './client';

/** The range of a report: ISO date-times (absent = the API's default) and the series' interval. */
export interface ReportRangeParams {
  from?: string;
  /** Exclusive; absent = now. */
  to?: string;
  /** Absent = hour up to 7 days, day beyond. */
  interval?: ReportInterval;
}

/** Query parameters of GET /alerts. */
export interface AlertListParams {
  page?: number;
  pageSize?: number;
  status?: AlertStatus;
  /** A server's documentId. */
  server?: string;
  rule?: ProtectionRuleId;
  sort?: 'createdAt:desc' | 'createdAt:asc';
}

/** Keys of the report and alert queries, under the plugin's root key so "invalidate everything" reaches them. */
export const reportKeys = {
  all: [PLUGIN_ID, 'reports'] as const,
  overview: (range: ReportRangeParams) => [...reportKeys.all, 'overview', range] as const,
  servers: (range: ReportRangeParams) => [...reportKeys.all, 'servers', range] as const,
  server: (documentId: string, range: ReportRangeParams) => [...reportKeys.all, 'server', documentId, range] as const,
  groups: (range: ReportRangeParams) => [...reportKeys.all, 'groups', range] as const,
  campaign: (documentId: string, range: ReportRangeParams) =>
    [...reportKeys.all, 'campaign', documentId, range] as const,
  alerts: () => [PLUGIN_ID, 'alerts'] as const,
  alertList: (params: AlertListParams) => [...reportKeys.alerts(), 'list', params] as const,
};

/** How often the alert list is fetched again while shown (protection raises alerts by itself). */
export const ALERTS_REFRESH_MS = 15_000;

/** Exports read at most this many rows from a list endpoint that has no CSV of its own. */
export const CLIENT_EXPORT_MAX_ROWS = 5_000;
const EXPORT_PAGE_SIZE = 100;

const fileNameOf = (headers: Headers | undefined, fallback: string) => {
  const disposition = headers?.get('content-disposition') ?? '';
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  return match ? decodeURIComponent(match[1]) : fallback;
};

const today = () => new Date().toISOString().slice(0, 10);

/** One CSV cell: quoted when needed; text that a spreadsheet would run as a formula is prefixed with '. */
const csvCell = (value: string | number | boolean | null | undefined) => {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/** Rows as a CSV file (UTF-8 with BOM, so spreadsheets read accents), for exports built in the browser. */
export const toCsvDownload = (
  columns: string[],
  rows: Array<Array<string | number | boolean | null | undefined>>,
  fileName: string
): CsvDownload => {
  const lines = [columns, ...rows].map((row) => row.map(csvCell).join(','));
  return { blob: new Blob([`\uFEFF${lines.join('\r\n')}\r\n`], { type: 'text/csv;charset=utf-8' }), fileName };
};

const reportUrl = (path: string) => pluginUrl(`/reports${path}`);

/**
 * The reports, alerts and delivery-log exports of the admin API. Built on Strapi's fetch client, so
 * every request (CSV downloads too) carries the admin's token.
 */
export function useReportsApi() {
  const { get, post } = useFetchClient();

  return React.useMemo(() => {
    /** A report as JSON. */
    const report = async <T>(path: string, params: object, signal?: AbortSignal) =>
      (await get<T>(reportUrl(path), { params: toQueryString(params), signal })).data;

    /** The same report as the CSV file the API builds (`format=csv`). */
    const reportCsv = async (path: string, params: object, fallbackName: string): Promise<CsvDownload> => {
      const response = await get<Blob>(reportUrl(path), {
        params: toQueryString({ ...params, format: 'csv' }),
        responseType: 'blob',
      });
      return { blob: response.data, fileName: fileNameOf(response.headers, fallbackName) };
    };

    /** Every page of a list endpoint, up to CLIENT_EXPORT_MAX_ROWS rows. */
    const allPages = async <T>(path: string, params: object): Promise<{ rows: T[]; total: number }> => {
      const rows: T[] = [];
      let total = 0;
      for (let page = 1; rows.length < CLIENT_EXPORT_MAX_ROWS; page += 1) {
        const body = (
          await get<ListResponse<T>>(pluginUrl(path), {
            params: toQueryString({ ...params, page, pageSize: EXPORT_PAGE_SIZE }),
          })
        ).data;
        rows.push(...body.data);
        total = body.meta.pagination.total;
        if (page >= body.meta.pagination.pageCount || body.data.length === 0) break;
      }
      return { rows: rows.slice(0, CLIENT_EXPORT_MAX_ROWS), total };
    };

    return {
      overview: (range: ReportRangeParams, signal?: AbortSignal) =>
        report<OverviewReportResponse>('/overview', range, signal),
      servers: (range: ReportRangeParams, signal?: AbortSignal) =>
        report<ServersReportResponse>('/servers', range, signal),
      server: (documentId: string, range: ReportRangeParams, signal?: AbortSignal) =>
        report<ServerReportResponse>(`/servers/${encodeURIComponent(documentId)}`, range, signal),
      groups: (range: ReportRangeParams, signal?: AbortSignal) =>
        report<GroupsReportResponse>('/groups', range, signal),
      campaign: (documentId: string, range: ReportRangeParams, signal?: AbortSignal) =>
        report<CampaignReportResponse>(`/campaigns/${encodeURIComponent(documentId)}`, range, signal),

      overviewCsv: (range: ReportRangeParams) => reportCsv('/overview', range, `multi-smtp-overview-${today()}.csv`),
      serversCsv: (range: ReportRangeParams) => reportCsv('/servers', range, `multi-smtp-servers-${today()}.csv`),
      serverCsv: (documentId: string, range: ReportRangeParams) =>
        reportCsv(
          `/servers/${encodeURIComponent(documentId)}`,
          range,
          `multi-smtp-server-${documentId}-${today()}.csv`
        ),
      groupsCsv: (range: ReportRangeParams) => reportCsv('/groups', range, `multi-smtp-groups-${today()}.csv`),
      campaignCsv: (documentId: string, range: ReportRangeParams, table: CampaignReportTable) =>
        reportCsv(
          `/campaigns/${encodeURIComponent(documentId)}`,
          { ...range, table },
          `multi-smtp-campaign-${documentId}-${table}-${today()}.csv`
        ),

      listAlerts: async (params: AlertListParams, signal?: AbortSignal) =>
        (await get<ListAlertsResponse>(pluginUrl('/alerts'), { params: toQueryString(params), signal })).data,
      liftAlert: async (documentId: string) =>
        (await post<AlertResponse>(pluginUrl(`/alerts/${encodeURIComponent(documentId)}/lift`), {})).data,
      /** Every alert matching the filter (newest first), up to CLIENT_EXPORT_MAX_ROWS: the API has no CSV of alerts. */
      allAlerts: (params: Omit<AlertListParams, 'page' | 'pageSize'>) => allPages<Alert>('/alerts', params),
      /** Every message matching the delivery log's filter, up to CLIENT_EXPORT_MAX_ROWS: GET /messages has no CSV. */
      allMessages: (params: Omit<MessageListParams, 'page' | 'pageSize'>) =>
        allPages<MessageLogEntry>('/messages', params),
    };
  }, [get, post]);
}

/* ---------------------------------------------------------------------------------------------
 * Queries
 * -------------------------------------------------------------------------------------------*/

export function useOverviewReport(range: ReportRangeParams) {
  const api = useReportsApi();
  return useQuery({
    queryKey: reportKeys.overview(range),
    queryFn: ({ signal }) => api.overview(range, signal),
    placeholderData: keepPreviousData,
  });
}

export function useServersReport(range: ReportRangeParams) {
  const api = useReportsApi();
  return useQuery({
    queryKey: reportKeys.servers(range),
    queryFn: ({ signal }) => api.servers(range, signal),
    placeholderData: keepPreviousData,
  });
}

export function useServerReport(documentId: string | undefined, range: ReportRangeParams) {
  const api = useReportsApi();
  return useQuery({
    queryKey: reportKeys.server(documentId ?? '', range),
    queryFn: ({ signal }) => api.server(documentId ?? '', range, signal),
    enabled: Boolean(documentId),
    placeholderData: keepPreviousData,
  });
}

export function useGroupsReport(range: ReportRangeParams) {
  const api = useReportsApi();
  return useQuery({
    queryKey: reportKeys.groups(range),
    queryFn: ({ signal }) => api.groups(range, signal),
    placeholderData: keepPreviousData,
  });
}

export function useCampaignReport(documentId: string | undefined, range: ReportRangeParams) {
  const api = useReportsApi();
  return useQuery({
    queryKey: reportKeys.campaign(documentId ?? '', range),
    queryFn: ({ signal }) => api.campaign(documentId ?? '', range, signal),
    enabled: Boolean(documentId),
    placeholderData: keepPreviousData,
  });
}

export function useAlertList(params: AlertListParams, { refresh = true }: { refresh?: boolean } = {}) {
  const api = useReportsApi();
  return useQuery({
    queryKey: reportKeys.alertList(params),
    queryFn: ({ signal }) => api.listAlerts(params, signal),
    placeholderData: keepPreviousData,
    refetchInterval: refresh ? ALERTS_REFRESH_MS : false,
  });
}

/** Lifts an alert: the server resumes (or gets its weight back). Refreshes alerts, reports and live status. */
export function useLiftAlert() {
  const api = useReportsApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (documentId: string) => api.liftAlert(documentId),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: reportKeys.alerts() });
      void queryClient.invalidateQueries({ queryKey: reportKeys.all });
      void queryClient.invalidateQueries({ queryKey: queryKeys.status() });
    },
  });
}
