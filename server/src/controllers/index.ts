import groups from './groups';
import messages from './messages';
import messagesApi from './messages-api';
import serverTests from './server-tests';
import servers from './servers';
import status from './status';

export default { servers, groups, serverTests, messagesApi, status, messages };
