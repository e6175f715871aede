import campaignState from './campaign-state';
import campaigns from './campaigns';
import csvImport from './csv-import';
import engine from './engine';
import groups from './groups';
import mailingLists from './mailing-lists';
import mailer from './mailer';
import messageLog from './message-log';
import rateLimit from './rate-limit';
import runtime from './runtime';
import serverTests from './server-tests';
import servers from './servers';
import status from './status';
import subscribers from './subscribers';
import suppressions from './suppressions';
import unsubscribe from './unsubscribe';

export default { runtime, servers, groups, serverTests, engine, mailer, status, messageLog, campaignState, campaigns, unsubscribe, rateLimit, mailingLists, subscribers, suppressions, csvImport };
