import groups from './groups';
import serverTests from './server-tests';
import servers from './servers';

export default { servers, groups, serverTests };
