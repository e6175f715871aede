import adminRoutes from '../../server/src/routes/admin';
import { ACTIONS, actionId } from '../../shared/permissions';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';

const ALL_ACTIONS = Object.values(ACTIONS);

/** The action a route's hasPermissions policy asks for. */
const requiredAction = (route: (typeof adminRoutes.routes)[number]) => {
  for (const policy of route.config.policies) {
    if (typeof policy === 'object' && policy.name === 'admin::hasPermissions') return policy.config.actions[0];
  }
  return undefined;
};

const call = (api: ReturnType<typeof asAdmin>, method: string, path: string) => {
  const url = `/multi-smtp${path.replace(':id', 'someid00000000000000000')}`;
  switch (method) {
    case 'GET':
      return api.get(url);
    case 'POST':
      return api.post(url, {});
    case 'PUT':
      return api.put(url, {});
    default:
      return api.delete(url);
  }
};

describe('RBAC on every admin route', () => {
  let app: TestStrapi;

  beforeAll(async () => {
    app = await startStrapi();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('puts every admin route behind admin::hasPermissions with a registered plugin action', () => {
    const registered = app.strapi
      .service('admin::permission')
      .actionProvider.values()
      .map((action: { actionId: string }) => action.actionId);
    for (const route of adminRoutes.routes) {
      const action = requiredAction(route);
      expect(action).toMatch(/^plugin::multi-smtp\./);
      expect(registered).toContain(action);
    }
    expect(registered).toEqual(expect.arrayContaining(ALL_ACTIONS.map(actionId)));
  });

  it('answers 401 without a token', async () => {
    for (const route of adminRoutes.routes) {
      const response = await call(asAdmin(app, 'not-a-token'), route.method, route.path);
      expect([route.method, route.path, response.status]).toEqual([route.method, route.path, 401]);
    }
  });

  it('answers 403 to a role that has every plugin action but the one a route needs', async () => {
    // One admin per action left out (not per route): creating admins is what takes the time.
    const tokens = new Map<string, string>();
    for (const route of adminRoutes.routes) {
      const needed = requiredAction(route)!;
      const others = ALL_ACTIONS.filter((uid) => actionId(uid) !== needed);
      const token = tokens.get(needed) ?? (await app.createAdmin(others));
      tokens.set(needed, token);
      const response = await call(asAdmin(app, token), route.method, route.path);
      expect([route.method, route.path, response.status]).toEqual([route.method, route.path, 403]);
    }
  });

  it('lets a read-only role read but not change or test', async () => {
    const token = await app.createAdmin([ACTIONS.serversRead]);
    const api = asAdmin(app, token);
    expect((await api.get('/multi-smtp/servers')).status).toBe(200);
    expect((await api.get('/multi-smtp/groups')).status).toBe(200);
    expect((await api.post('/multi-smtp/servers', { name: 'x', host: 'h', port: 25 })).status).toBe(403);
    expect((await api.post('/multi-smtp/groups', { name: 'x', slug: 'x' })).status).toBe(403);
    expect((await api.get('/multi-smtp/bounce-mailboxes')).status).toBe(200);
    expect((await api.post('/multi-smtp/bounce-mailboxes/poll', {})).status).toBe(403);
    expect((await api.get('/multi-smtp/sending-domains')).status).toBe(200);
    expect((await api.post('/multi-smtp/sending-domains', { domain: 'x.example', selector: 's', generate: true })).status).toBe(403);
  });
});
