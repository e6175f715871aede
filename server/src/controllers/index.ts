import alerts from './alerts';
import audiences from './audiences';
import campaigns from './campaigns';
import groups from './groups';
import inbound from './inbound';
import mailingLists from './mailing-lists';
import messages from './messages';
import messagesApi from './messages-api';
import metrics from './metrics';
import reports from './reports';
import serverTests from './server-tests';
import servers from './servers';
import status from './status';
import subscribers from './subscribers';
import suppressions from './suppressions';
import unsubscribe from './unsubscribe';
import webhooks from './webhooks';

export default { servers, groups, serverTests, messagesApi, status, messages, campaigns, unsubscribe, mailingLists, subscribers, suppressions, audiences, inbound, webhooks, reports, metrics, alerts };
