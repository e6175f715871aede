import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';

describe('server groups admin API', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;

  const createGroup = async (body: object) => {
    const response = await api.post('/multi-smtp/groups', body);
    expect(response.status).toBe(201);
    return response.body.data as { documentId: string; isDefault: boolean };
  };

  beforeAll(async () => {
    app = await startStrapi();
    api = asAdmin(app);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('starts with one default group on a fresh install', async () => {
    const list = await api.get('/multi-smtp/groups');
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([expect.objectContaining({ slug: 'default', isDefault: true, strategy: 'weighted' })]);
  });

  it('creates, reads, updates and deletes a group', async () => {
    const group = await createGroup({ name: 'Marketing', slug: 'marketing', strategy: 'round-robin', description: 'Newsletters' });
    const fetched = await api.get(`/multi-smtp/groups/${group.documentId}`);
    expect(fetched.body.data).toMatchObject({ name: 'Marketing', strategy: 'round-robin', isDefault: false, servers: [] });

    const updated = await api.put(`/multi-smtp/groups/${group.documentId}`, { strategy: 'priority' });
    expect(updated.status).toBe(200);
    expect(updated.body.data.strategy).toBe('priority');

    expect((await api.delete(`/multi-smtp/groups/${group.documentId}`)).status).toBe(204);
    expect((await api.get(`/multi-smtp/groups/${group.documentId}`)).status).toBe(404);
  });

  it("shows each server's share of the group by weight", async () => {
    const group = await createGroup({ name: 'Shares', slug: 'shares' });
    for (const [name, weight, enabled] of [
      ['w5', 5, true],
      ['w3', 3, true],
      ['w2', 2, true],
      ['off', 7, false],
    ] as const) {
      const created = await api.post('/multi-smtp/servers', { name, host: 'smtp.example.com', port: 25, weight, enabled, group: group.documentId });
      expect(created.status).toBe(201);
    }
    const response = await api.get(`/multi-smtp/groups/${group.documentId}`);
    const shares = Object.fromEntries(response.body.data.servers.map((s: { name: string; sharePct: number }) => [s.name, s.sharePct]));
    expect(shares).toEqual({ w5: 50, w3: 30, w2: 20, off: 0 });
  });

  it('keeps exactly one default group', async () => {
    const eu = await createGroup({ name: 'EU', slug: 'eu', isDefault: true });
    const list = (await api.get('/multi-smtp/groups?pageSize=100')).body.data as { slug: string; isDefault: boolean }[];
    expect(list.filter((group) => group.isDefault).map((group) => group.slug)).toEqual(['eu']);

    const unset = await api.put(`/multi-smtp/groups/${eu.documentId}`, { isDefault: false });
    expect(unset.status).toBe(400);
    expect(unset.body.error.details.errors[0].path).toEqual(['isDefault']);

    const refuse = await api.delete(`/multi-smtp/groups/${eu.documentId}`);
    expect(refuse.status).toBe(400);
    expect(refuse.body.error.message).toMatch(/default group/);
  });

  it('validates fallback groups: existing, not itself, no loops', async () => {
    const a = await createGroup({ name: 'A', slug: 'fb-a' });
    const b = await createGroup({ name: 'B', slug: 'fb-b', fallbackGroup: a.documentId });
    const c = await createGroup({ name: 'C', slug: 'fb-c', fallbackGroup: b.documentId });

    const self = await api.put(`/multi-smtp/groups/${a.documentId}`, { fallbackGroup: a.documentId });
    expect(self.status).toBe(400);
    expect(self.body.error.details.errors[0]).toMatchObject({ path: ['fallbackGroup'], message: 'cannot be the group itself' });

    const loop = await api.put(`/multi-smtp/groups/${a.documentId}`, { fallbackGroup: c.documentId });
    expect(loop.status).toBe(400);
    expect(loop.body.error.details.errors[0]).toMatchObject({ path: ['fallbackGroup'], message: 'would make a loop of fallback groups' });

    const missing = await api.post('/multi-smtp/groups', { name: 'D', slug: 'fb-d', fallbackGroup: 'missing0000000000000000' });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.errors[0]).toMatchObject({ path: ['fallbackGroup'], message: 'does not exist' });

    const inUse = await api.delete(`/multi-smtp/groups/${a.documentId}`);
    expect(inUse.status).toBe(400);
    expect(inUse.body.error.message).toMatch(/fallback of: B/);

    expect((await api.get(`/multi-smtp/groups/${c.documentId}`)).body.data.fallbackGroup).toMatchObject({ slug: 'fb-b' });
  });

  it('refuses to delete a group that still has servers', async () => {
    const group = await createGroup({ name: 'Busy', slug: 'busy' });
    await api.post('/multi-smtp/servers', { name: 'busy-1', host: 'smtp.example.com', port: 25, group: group.documentId });
    const response = await api.delete(`/multi-smtp/groups/${group.documentId}`);
    expect(response.status).toBe(400);
    expect(response.body.error.message).toMatch(/still has 1 server/);
  });

  it.each([
    ['bad slug', { name: 'X', slug: 'Not A Slug' }, 'slug', /lowercase/],
    ['duplicate slug', { name: 'X', slug: 'default' }, 'slug', /already used/],
    ['unknown strategy', { name: 'X', slug: 'x-1', strategy: 'random' }, 'strategy', /one of: round-robin, weighted, priority, adaptive/],
    ['CR/LF in name', { name: 'X\r\nY', slug: 'x-2' }, 'name', /line break/],
    ['missing name', { slug: 'x-3' }, 'name', /required/],
  ])('answers 400 for %s', async (_label, body, field, reason) => {
    const before = (await api.get('/multi-smtp/groups')).body.meta.pagination.total;
    const response = await api.post('/multi-smtp/groups', body);
    expect(response.status).toBe(400);
    const fieldError = response.body.error.details.errors.find((error: { path: string[] }) => error.path[0] === field);
    expect(fieldError?.message).toMatch(reason);
    expect((await api.get('/multi-smtp/groups')).body.meta.pagination.total).toBe(before);
  });

  // Last: it empties the groups. Nodes booting together on an empty database each run the bootstrap's
  // ensureDefaultGroup at the same moment; three calls at once stand for three nodes.
  it('leaves exactly one default group when several nodes boot on an empty database at once', async () => {
    const groups = app.strapi.db.query('plugin::multi-smtp.group' as never);
    await groups.deleteMany({ where: {} } as never);
    const service = app.strapi.plugin('multi-smtp').service('groups');
    await Promise.all([service.ensureDefaultGroup(), service.ensureDefaultGroup(), service.ensureDefaultGroup()]);
    const list = await api.get('/multi-smtp/groups');
    expect(list.body.data).toEqual([expect.objectContaining({ slug: 'default', isDefault: true })]);
    // And a node booting later adds none.
    await service.ensureDefaultGroup();
    expect((await api.get('/multi-smtp/groups')).body.meta.pagination.total).toBe(1);
  });
});
