import groups from './groups';
import runtime from './runtime';
import serverTests from './server-tests';
import servers from './servers';

export default { runtime, servers, groups, serverTests };
