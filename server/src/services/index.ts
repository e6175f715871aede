import campaignState from './campaign-state';
import engine from './engine';
import groups from './groups';
import mailer from './mailer';
import messageLog from './message-log';
import runtime from './runtime';
import serverTests from './server-tests';
import servers from './servers';
import status from './status';

export default { runtime, servers, groups, serverTests, engine, mailer, status, messageLog, campaignState };
