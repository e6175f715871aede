export const SERVER_UID = 'plugin::multi-smtp.server' as const;
export const GROUP_UID = 'plugin::multi-smtp.group' as const;
export const MESSAGE_UID = 'plugin::multi-smtp.message' as const;
export const CAMPAIGN_UID = 'plugin::multi-smtp.campaign' as const;
export const MAILING_LIST_UID = 'plugin::multi-smtp.mailing-list' as const;
export const SUBSCRIBER_UID = 'plugin::multi-smtp.subscriber' as const;
export const SUPPRESSION_UID = 'plugin::multi-smtp.suppression' as const;
export const STAT_BUCKET_UID = 'plugin::multi-smtp.stat-bucket' as const;
