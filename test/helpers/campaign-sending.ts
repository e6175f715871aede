import type { TestSmtpServer } from './smtp-servers';
import type { asAdmin } from './strapi';
import { waitFor } from './wait';

/**
 * Steps of the campaign sending tests through the admin API (lists, subscribers and campaigns are
 * made with ./campaigns.ts): a group whose server is a sink, suppressions, lifecycle actions, and
 * what each address received at the sinks.
 */

type Api = ReturnType<typeof asAdmin>;

const ok = (what: string, response: { status: number; body: { data?: unknown } }) => {
  if (response.status >= 300) throw new Error(`${what}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.data as Record<string, unknown> & { documentId: string };
};

/** A group with one server that delivers to the sink; returns the group's documentId. */
export const groupWithSink = async (api: Api, sink: TestSmtpServer, slug: string, server: Record<string, unknown> = {}) => {
  const group = ok('creating the group', await api.post('/multi-smtp/groups', { name: slug, slug })).documentId;
  ok(
    'creating the server',
    await api.post('/multi-smtp/servers', {
      name: `${slug}-sink`,
      host: sink.host,
      port: sink.port,
      security: 'none',
      maxConnections: 4,
      fromAddress: 'news@example.com',
      group,
      ...server,
    })
  );
  return group;
};

export const suppress = async (api: Api, value: string) => ok(`suppressing ${value}`, await api.post('/multi-smtp/suppressions', { value }));

export type CampaignAction = 'start' | 'pause' | 'resume' | 'cancel' | 'schedule';

export const campaignAction = async (api: Api, documentId: string, action: CampaignAction, body?: object) =>
  ok(`${action} campaign`, await api.post(`/multi-smtp/campaigns/${documentId}/${action}`, body));

export interface CampaignRow {
  documentId: string;
  status: string;
  totalRecipients: number;
  queuedCount: number;
  sentCount: number;
  skippedCount: number;
  failedCount: number;
  bouncedCount: number;
  startedAt: string | null;
  completedAt: string | null;
  scheduledAt: string | null;
  lastError: string | null;
}

export const getCampaign = async (api: Api, documentId: string) =>
  ok('reading the campaign', await api.get(`/multi-smtp/campaigns/${documentId}`)) as unknown as CampaignRow;

/** Waits for a status; a campaign that failed instead fails the wait with its error. */
export const waitForCampaignStatus = (api: Api, documentId: string, status: string, timeoutMs = 60_000): Promise<CampaignRow> =>
  waitFor<CampaignRow | null>(
    `campaign ${documentId} to be ${status}`,
    async () => {
      const campaign = await getCampaign(api, documentId);
      if (campaign.status === 'failed' && status !== 'failed') throw new Error(`the campaign failed: ${campaign.lastError}`);
      return campaign.status === status ? campaign : null;
    },
    timeoutMs,
    200
  ) as Promise<CampaignRow>;

/** How many messages of this campaign each address received, over these sinks. */
export const deliveriesOf = (sinks: TestSmtpServer[], campaignId: string): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const sink of sinks) {
    for (const message of sink.messages) {
      if (message.headers['x-campaign-id'] !== campaignId) continue;
      for (const address of message.to) counts.set(address, (counts.get(address) ?? 0) + 1);
    }
  }
  return counts;
};

/** Addresses received more than once. */
export const repeated = (deliveries: Map<string, number>) => [...deliveries].filter(([, count]) => count > 1).map(([address]) => address);
