import { PLUGIN_ID } from '../../../shared/plugin-id';

/**
 * Absolute paths of the plugin's pages. Strapi mounts the plugin at `plugins/multi-smtp/*`;
 * absolute paths stay correct from any nested page (react-router adds the admin's base path).
 */
const BASE = `/plugins/${PLUGIN_ID}`;

export const paths = {
  servers: BASE,
  newServer: `${BASE}/servers/new`,
  server: (documentId: string) => `${BASE}/servers/${documentId}`,
  groups: `${BASE}/groups`,
  newGroup: `${BASE}/groups/new`,
  group: (documentId: string) => `${BASE}/groups/${documentId}`,
  sendingDomains: `${BASE}/sending-domains`,
  responseRules: `${BASE}/response-rules`,
  routingRules: `${BASE}/routing-rules`,
  log: `${BASE}/log`,
  campaigns: `${BASE}/campaigns`,
  newCampaign: `${BASE}/campaigns/new`,
  campaign: (documentId: string) => `${BASE}/campaigns/${documentId}`,
  subscribers: `${BASE}/subscribers`,
  lists: `${BASE}/lists`,
  suppressions: `${BASE}/suppressions`,
  reports: `${BASE}/reports`,
  serverReport: (documentId: string) => `${BASE}/reports/servers/${encodeURIComponent(documentId)}`,
  campaignReport: (documentId: string) => `${BASE}/reports/campaigns/${encodeURIComponent(documentId)}`,
  alerts: `${BASE}/alerts`,
};
