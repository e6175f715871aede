import { PLUGIN_ID } from './plugin-id';

/**
 * Every RBAC action of the plugin, in one place. The server registers them once (register.ts);
 * routes name them in `admin::hasPermissions`; the admin uses the same names to hide what a role
 * may not do. Later features (campaigns, reports, settings) are registered now so roles can be set
 * up once.
 */
export const ACTIONS = {
  serversRead: 'servers.read',
  serversManage: 'servers.manage',
  serversTest: 'servers.test',
  campaignsRead: 'campaigns.read',
  campaignsManage: 'campaigns.manage',
  campaignsSend: 'campaigns.send',
  reportsRead: 'reports.read',
  routingRead: 'routing.read',
  routingManage: 'routing.manage',
  settingsManage: 'settings.manage',
  responseRulesManage: 'response-rules.manage',
} as const;

export type ActionUid = (typeof ACTIONS)[keyof typeof ACTIONS];

/** The full action id, as Strapi stores it in a role's permissions. */
export const actionId = (uid: ActionUid) => `plugin::${PLUGIN_ID}.${uid}` as const;

/** What Strapi's action provider needs to show each action in the Roles page. */
export const ACTION_DEFINITIONS: ReadonlyArray<{
  uid: ActionUid;
  displayName: string;
  subCategory: string;
}> = [
  { uid: ACTIONS.serversRead, displayName: 'Read SMTP servers and groups', subCategory: 'servers' },
  { uid: ACTIONS.serversManage, displayName: 'Manage SMTP servers and groups', subCategory: 'servers' },
  { uid: ACTIONS.serversTest, displayName: 'Test connections and send test emails', subCategory: 'servers' },
  { uid: ACTIONS.campaignsRead, displayName: 'Read campaigns', subCategory: 'campaigns' },
  { uid: ACTIONS.campaignsManage, displayName: 'Write campaigns and audiences', subCategory: 'campaigns' },
  { uid: ACTIONS.campaignsSend, displayName: 'Start, pause and cancel campaigns', subCategory: 'campaigns' },
  { uid: ACTIONS.reportsRead, displayName: 'Read reports and the delivery log', subCategory: 'reports' },
  { uid: ACTIONS.routingRead, displayName: 'Read routing rules and use the tester', subCategory: 'routing' },
  { uid: ACTIONS.routingManage, displayName: 'Manage routing rules', subCategory: 'routing' },
  { uid: ACTIONS.settingsManage, displayName: 'Manage settings', subCategory: 'settings' },
  { uid: ACTIONS.responseRulesManage, displayName: 'Manage SMTP response rules', subCategory: 'servers' },
];
