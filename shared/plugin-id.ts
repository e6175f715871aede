/** The plugin's id: its URL prefix, its permission namespace and its translation namespace. */
export const PLUGIN_ID = 'multi-smtp';
