import alertSchema from './alert/schema.json';
import campaignSchema from './campaign/schema.json';
import groupSchema from './group/schema.json';
import mailingListSchema from './mailing-list/schema.json';
import messageSchema from './message/schema.json';
import responseRuleSchema from './response-rule/schema.json';
import routingRuleSchema from './routing-rule/schema.json';
import sendingDomainSchema from './sending-domain/schema.json';
import serverSchema from './server/schema.json';
import statBucketSchema from './stat-bucket/schema.json';
import subscriberSchema from './subscriber/schema.json';
import suppressionSchema from './suppression/schema.json';
import trackingEventSchema from './tracking-event/schema.json';

/** Content types; their UIDs (plugin::multi-smtp.<name>) are public API. */
export default {
  server: { schema: serverSchema },
  group: { schema: groupSchema },
  message: { schema: messageSchema },
  campaign: { schema: campaignSchema },
  'mailing-list': { schema: mailingListSchema },
  subscriber: { schema: subscriberSchema },
  suppression: { schema: suppressionSchema },
  'stat-bucket': { schema: statBucketSchema },
  alert: { schema: alertSchema },
  'tracking-event': { schema: trackingEventSchema },
  'sending-domain': { schema: sendingDomainSchema },
  'response-rule': { schema: responseRuleSchema },
  'routing-rule': { schema: routingRuleSchema },
};
