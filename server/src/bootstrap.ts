import type { Core } from '@strapi/strapi';

import { ensureMessageIndexes } from './repositories/messages';
import { ROUTING_RULE_UID } from './repositories/routing-rules';
import { getService } from './utils/get-service';
import { GROUP_UID, SERVER_UID } from './utils/uids';

const bootstrap = async ({ strapi }: { strapi: Core.Strapi }) => {
  // Fail the boot now, not at the first send, when the key is missing or wrong.
  getService(strapi, 'runtime').secrets();
  await getService(strapi, 'groups').ensureDefaultGroup();
  // The delivery log's upsert needs its unique index; fail the boot now if it cannot be made.
  await ensureMessageIndexes(strapi);
  await getService(strapi, 'engine').start();
  // Changes made on other nodes reach this one's router at once (services/directory-sync.ts).
  await getService(strapi, 'directorySync').start();
  // The Redis mirror of the suppression list may be missing or stale (flushed Redis, edits while down).
  await getService(strapi, 'suppressions').syncToRedis();
  // Any change to servers, groups or routing rules (admin API, content manager, scripts) reaches the router at once,
  // this node's and, once committed, every other node's.
  strapi.db.lifecycles.subscribe({
    models: [SERVER_UID, GROUP_UID, ROUTING_RULE_UID],
    afterCreate: () => getService(strapi, 'directorySync').changed(),
    afterUpdate: () => getService(strapi, 'directorySync').changed(),
    afterDelete: () => getService(strapi, 'directorySync').changed(),
  });
  // Scheduled campaigns start on time and sending ones go on where this process fans out: the
  // config's campaigns.fanOut, by default wherever queue workers run (config/role.ts
  // runsCampaignFanOut); other nodes only set campaigns' status.
  getService(strapi, 'campaignRunner').start();
  // Old delivery log rows and statistics go after their retention (hourly, and soon after boot).
  getService(strapi, 'retention').start();
  // Bounce mailboxes over IMAP are polled where queue workers run, one process per mailbox at a time.
  getService(strapi, 'bounceMailboxes').start();
};

export default bootstrap;
