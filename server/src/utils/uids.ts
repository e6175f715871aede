export const SERVER_UID = 'plugin::multi-smtp.server' as const;
export const GROUP_UID = 'plugin::multi-smtp.group' as const;
