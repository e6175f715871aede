import { useRBAC } from '@strapi/strapi/admin';

import { ACTIONS, actionId } from '../../../shared/permissions';

/** Module-level so useRBAC gets the same array on every render and checks only once. */
const SERVER_PERMISSIONS = [
  { action: actionId(ACTIONS.serversRead), subject: null },
  { action: actionId(ACTIONS.serversManage), subject: null },
  { action: actionId(ACTIONS.serversTest), subject: null },
];

/** Campaigns, lists, subscribers and suppressions: read, write (`manage`) and start/pause/cancel (`send`). */
export const CAMPAIGN_PERMISSIONS = [
  { action: actionId(ACTIONS.campaignsRead), subject: null },
  { action: actionId(ACTIONS.campaignsManage), subject: null },
  { action: actionId(ACTIONS.campaignsSend), subject: null },
];

/** Checked on their own: `reports.read` would also be named `canRead` next to `servers.read`. */
export const REPORTS_READ_PERMISSIONS = [{ action: actionId(ACTIONS.reportsRead), subject: null }];
/** Checked on their own too (`canRead` again). */
const ROUTING_READ_PERMISSIONS = [{ action: actionId(ACTIONS.routingRead), subject: null }];

/**
 * What the current admin may do with servers, groups, reports and campaigns. The server enforces the same
 * actions; this only hides buttons and pages that would fail. useRBAC names each result after the
 * action's last part: `servers.manage` -> `canManage`.
 */
export function usePluginPermissions() {
  const servers = useRBAC(SERVER_PERMISSIONS);
  const reports = useRBAC(REPORTS_READ_PERMISSIONS);
  const campaigns = useRBAC(CAMPAIGN_PERMISSIONS);
  const routing = useRBAC(ROUTING_READ_PERMISSIONS);
  return {
    isLoading: servers.isLoading || reports.isLoading || campaigns.isLoading || routing.isLoading,
    canRead: Boolean(servers.allowedActions.canRead),
    canManage: Boolean(servers.allowedActions.canManage),
    canTest: Boolean(servers.allowedActions.canTest),
    /** May read reports, alerts and the delivery log. */
    reportsRead: Boolean(reports.allowedActions.canRead),
    /** May see campaigns, lists, subscribers and suppressions. */
    campaignsRead: Boolean(campaigns.allowedActions.canRead),
    /** May write them (and import subscribers, add suppressions). */
    campaignsManage: Boolean(campaigns.allowedActions.canManage),
    /** May start, schedule, pause, resume and cancel campaigns. */
    campaignsSend: Boolean(campaigns.allowedActions.canSend),
    /** May see the routing rules and use their tester. */
    routingRead: Boolean(routing.allowedActions.canRead),
  };
}
