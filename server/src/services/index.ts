import audiences from './audiences';
import campaignGate from './campaign-gate';
import campaignRunner from './campaign-runner';
import campaignState from './campaign-state';
import campaigns from './campaigns';
import engine from './engine';
import groups from './groups';
import mailer from './mailer';
import messageLog from './message-log';
import rateLimit from './rate-limit';
import runtime from './runtime';
import serverTests from './server-tests';
import servers from './servers';
import status from './status';
import unsubscribe from './unsubscribe';

export default { runtime, servers, groups, serverTests, engine, mailer, status, messageLog, campaignState, audiences, campaignGate, campaignRunner, campaigns, unsubscribe, rateLimit };
