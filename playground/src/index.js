const demo = require('./demo-settings');

/**
 * Seeds the demo on every boot, creating only what is missing: the admin user, two groups and
 * three SMTP servers pointing at the local demo relays. PLAYGROUND_SEED=false skips it (the
 * browser test starts from an empty app and registers its own admin).
 *
 * Groups and servers go through the plugin's own services, which validate the same JSON as the
 * admin API.
 */
async function ensureDemoAdmin(strapi) {
  const users = strapi.service('admin::user');
  if (await users.exists({ email: demo.admin.email })) return;

  const superAdminRole = await strapi.service('admin::role').getSuperAdmin();
  await users.create({
    ...demo.admin,
    registrationToken: null,
    isActive: true,
    roles: superAdminRole ? [superAdminRole.id] : [],
  });
  strapi.log.info(`[playground] created the demo admin ${demo.admin.email}`);
}

async function ensureDemoSmtpServers(strapi) {
  const plugin = strapi.plugin('multi-smtp');
  if (!plugin) {
    throw new Error('[playground] the multi-smtp plugin is not loaded: run `npm run build` in the repo root');
  }
  const groupsService = plugin.service('groups');
  const serversService = plugin.service('servers');

  const existingGroups = (await groupsService.list({ pageSize: 100 })).data;
  const groupIdBySlug = new Map(existingGroups.map((group) => [group.slug, group.documentId]));
  const firstSeed = demo.groups.every((group) => !groupIdBySlug.has(group.slug));
  for (const group of demo.groups) {
    if (groupIdBySlug.has(group.slug)) continue;
    const created = await groupsService.create(group);
    groupIdBySlug.set(created.slug, created.documentId);
    strapi.log.info(`[playground] created the group "${group.name}"`);
  }

  // The plugin makes an empty "Default" group on a fresh install; the demo brings its own default.
  const autoDefault = existingGroups.find((group) => group.slug === 'default' && group.servers.length === 0);
  if (firstSeed && autoDefault) {
    try {
      await groupsService.delete(autoDefault.documentId);
    } catch (error) {
      strapi.log.warn(`[playground] kept the "Default" group: ${error.message}`);
    }
  }

  const existingServers = (await serversService.list({ pageSize: 100 })).data;
  const serverNames = new Set(existingServers.map((server) => server.name));
  for (const relay of demo.relays) {
    if (serverNames.has(relay.name)) continue;
    await serversService.create({
      name: relay.name,
      host: '127.0.0.1',
      port: relay.port,
      security: 'none',
      fromAddress: 'demo@example.com',
      fromName: 'Multi SMTP demo',
      weight: relay.weight,
      group: groupIdBySlug.get(relay.groupSlug),
      notes: `Local demo SMTP server started by npm run demo; its mail shows at http://127.0.0.1:${demo.mailViewerPort}`,
    });
    strapi.log.info(`[playground] created the SMTP server "${relay.name}" (127.0.0.1:${relay.port})`);
  }
}

module.exports = {
  register() {},

  async bootstrap({ strapi }) {
    if (process.env.PLAYGROUND_SEED === 'false') return;
    await ensureDemoAdmin(strapi);
    await ensureDemoSmtpServers(strapi);
  },
};
