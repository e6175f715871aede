import { useRBAC } from '@strapi/strapi/admin';

import { ACTIONS, actionId } from '../../../shared/permissions';

/** Module-level so useRBAC gets the same array on every render and checks only once. */
const SERVER_PERMISSIONS = [
  { action: actionId(ACTIONS.serversRead), subject: null },
  { action: actionId(ACTIONS.serversManage), subject: null },
  { action: actionId(ACTIONS.serversTest), subject: null },
];

/** Checked on their own: `reports.read` would also be named `canRead` next to `servers.read`. */
export const REPORTS_READ_PERMISSIONS = [{ action: actionId(ACTIONS.reportsRead), subject: null }];

/**
 * What the current admin may do with servers, groups and reports. The server enforces the same
 * actions; this only hides buttons and pages that would fail. useRBAC names each result after the
 * action's last part: `servers.manage` -> `canManage`.
 */
export function usePluginPermissions() {
  const servers = useRBAC(SERVER_PERMISSIONS);
  const reports = useRBAC(REPORTS_READ_PERMISSIONS);
  return {
    isLoading: servers.isLoading || reports.isLoading,
    canRead: Boolean(servers.allowedActions.canRead),
    canManage: Boolean(servers.allowedActions.canManage),
    canTest: Boolean(servers.allowedActions.canTest),
    /** May read the delivery log (and, later, reports). */
    reportsRead: Boolean(reports.allowedActions.canRead),
  };
}
