import { PLUGIN_ID } from '../../../shared/plugin-id';

/** The full translation id of one of the plugin's messages, e.g. `multi-smtp.servers.title`. */
export const getTranslation = (id: string) => `${PLUGIN_ID}.${id}`;
