import { useSearchParams } from 'react-router-dom';

import { MESSAGE_STATUSES, type MessageStatus } from '../../../../shared/contracts/messages';
import type { MessageListParams } from '../../api/client';
import { fromIsoDay } from '../../utils/dates';

/** The delivery log's filters as they sit in the URL (`?status=failed&from=2025-05-01`). */
export interface LogFilters {
  recipient: string;
  /** '' = any status. */
  status: MessageStatus | '';
  /** A server's documentId, '' = any. */
  server: string;
  /** A group's slug, '' = any. */
  group: string;
  /** A campaign's documentId, '' = any. */
  campaign: string;
  /** 'YYYY-MM-DD' in the browser's time zone, '' = no bound. */
  from: string;
  to: string;
}

export type LogFilterKey = Exclude<keyof LogFilters, 'recipient'>;

const isStatus = (value: string): value is MessageStatus => (MESSAGE_STATUSES as readonly string[]).includes(value);
const isDay = (value: string) => fromIsoDay(value) !== undefined;

/**
 * Reads the filters from the URL (anything malformed there is ignored, so a bad link still shows
 * the log) and changes one at a time, going back to page 1.
 */
export function useLogFilters() {
  const [searchParams, setSearchParams] = useSearchParams();
  const read = (key: string) => searchParams.get(key) ?? '';

  const filters: LogFilters = {
    recipient: read('recipient'),
    status: isStatus(read('status')) ? (read('status') as MessageStatus) : '',
    server: read('server'),
    group: read('group'),
    campaign: read('campaign'),
    from: isDay(read('from')) ? read('from') : '',
    to: isDay(read('to')) ? read('to') : '',
  };

  const setFilter = (key: LogFilterKey, value: string) => {
    const next = new URLSearchParams(searchParams);
    if (value) {
      next.set(key, value);
    } else {
      next.delete(key);
    }
    next.delete('page');
    setSearchParams(next, { replace: true });
  };

  /** Clears the selects and dates; the recipient search has its own clear button. */
  const clearFilters = () => {
    const next = new URLSearchParams(searchParams);
    for (const key of ['status', 'server', 'group', 'campaign', 'from', 'to', 'page']) {
      next.delete(key);
    }
    setSearchParams(next, { replace: true });
  };

  const hasFilters = Object.values(filters).some(Boolean);
  const hasFieldFilters = Boolean(
    filters.status || filters.server || filters.group || filters.campaign || filters.from || filters.to,
  );

  return { filters, setFilter, clearFilters, hasFilters, hasFieldFilters };
}

/** The API's query: days become the start of the first and the end of the last, in the browser's time zone. */
export function toMessageListParams(filters: LogFilters, page: number, pageSize: number): MessageListParams {
  const fromDay = fromIsoDay(filters.from);
  const toDay = fromIsoDay(filters.to);
  const endOfDay = toDay ? new Date(toDay.getFullYear(), toDay.getMonth(), toDay.getDate() + 1, 0, 0, 0, -1) : undefined;

  return {
    page,
    pageSize,
    sort: 'queuedAt:desc',
    recipient: filters.recipient || undefined,
    status: filters.status || undefined,
    server: filters.server || undefined,
    group: filters.group || undefined,
    campaign: filters.campaign || undefined,
    from: fromDay?.toISOString(),
    to: endOfDay?.toISOString(),
  };
}

/** A delivery-log id (a UUID, as in the X-Multi-SMTP-ID header): the search box looks it up directly. */
export const isMessageId = (value: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value.trim());
