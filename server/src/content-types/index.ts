import serverSchema from './server/schema.json';
import groupSchema from './group/schema.json';
import messageSchema from './message/schema.json';

/** Content types; their UIDs (plugin::multi-smtp.server, plugin::multi-smtp.group) are public API. */
export default {
  server: { schema: serverSchema },
  group: { schema: groupSchema },
  message: { schema: messageSchema },
};
