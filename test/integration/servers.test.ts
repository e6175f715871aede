import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';

const SECRET = 'S3cret-Passw0rd-XYZ';

describe('SMTP servers admin API', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let groupId: string;

  const countServers = async () => (await api.get('/multi-smtp/servers')).body.meta.pagination.total as number;

  beforeAll(async () => {
    app = await startStrapi();
    api = asAdmin(app);
    const group = await api.post('/multi-smtp/groups', { name: 'Transactional', slug: 'transactional' });
    expect(group.status).toBe(201);
    groupId = group.body.data.documentId;
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('creates, reads, lists, updates and deletes a server', async () => {
    const created = await api.post('/multi-smtp/servers', {
      name: 'Mailgun EU',
      host: 'smtp.eu.mailgun.org',
      port: 587,
      username: 'postmaster@example.com',
      password: SECRET,
      hourlyLimit: 1000,
      weight: 5,
      group: groupId,
      warmup: { preset: 'standard', startDate: '2026-11-01' },
    });
    expect(created.status).toBe(201);
    const server = created.body.data;
    expect(server).toMatchObject({
      name: 'Mailgun EU',
      port: 587,
      security: 'starttls',
      hasPassword: true,
      hourlyLimit: 1000,
      dailyLimit: null,
      weight: 5,
      group: { documentId: groupId, slug: 'transactional' },
      warmup: { enabled: true, preset: 'standard', startDate: '2026-11-01', customSteps: [] },
    });

    const fetched = await api.get(`/multi-smtp/servers/${server.documentId}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body.data.name).toBe('Mailgun EU');

    const updated = await api.put(`/multi-smtp/servers/${server.documentId}`, { weight: 2, enabled: false });
    expect(updated.status).toBe(200);
    expect(updated.body.data).toMatchObject({ weight: 2, enabled: false, hasPassword: true, hourlyLimit: 1000 });

    const cleared = await api.put(`/multi-smtp/servers/${server.documentId}`, { password: null });
    expect(cleared.body.data.hasPassword).toBe(false);

    const removed = await api.delete(`/multi-smtp/servers/${server.documentId}`);
    expect(removed.status).toBe(204);
    expect((await api.get(`/multi-smtp/servers/${server.documentId}`)).status).toBe(404);
  });

  it('paginates, filters and sorts the list', async () => {
    for (const [name, weight] of [
      ['list-a', 1],
      ['list-b', 3],
      ['list-c', 2],
    ] as const) {
      expect((await api.post('/multi-smtp/servers', { name, host: `${name}.example.com`, port: 25, weight })).status).toBe(201);
    }
    const page = await api.get('/multi-smtp/servers?q=list-&sort=weight:desc&pageSize=2&page=1');
    expect(page.status).toBe(200);
    expect(page.body.data.map((s: { name: string }) => s.name)).toEqual(['list-b', 'list-c']);
    expect(page.body.meta.pagination).toEqual({ page: 1, pageSize: 2, pageCount: 2, total: 3 });

    const ungrouped = await api.get('/multi-smtp/servers?group=none&q=list-');
    expect(ungrouped.body.meta.pagination.total).toBe(3);
    const inGroup = await api.get(`/multi-smtp/servers?group=${groupId}&q=list-`);
    expect(inGroup.body.meta.pagination.total).toBe(0);

    const badSort = await api.get('/multi-smtp/servers?sort=password:asc');
    expect(badSort.status).toBe(400);
    expect(badSort.body.error.details.errors[0].path).toEqual(['sort']);
  });

  it('never returns the password, and stores it encrypted', async () => {
    const created = await api.post('/multi-smtp/servers', { name: 'secretive', host: 'h.example.com', port: 465, security: 'tls', password: SECRET });
    const id = created.body.data.documentId;
    const responses = [
      created,
      await api.get(`/multi-smtp/servers/${id}`),
      await api.get('/multi-smtp/servers'),
      await api.put(`/multi-smtp/servers/${id}`, { notes: 'x' }),
      await api.get(`/multi-smtp/groups`),
    ];
    for (const response of responses) {
      expect(response.text).not.toContain(SECRET);
      expect(response.text).not.toContain('passwordEncrypted');
      expect(response.text).not.toMatch(/v1:[0-9a-f]{8}:/);
    }

    const row = await app.strapi.db.query('plugin::multi-smtp.server').findOne({ where: { documentId: id } });
    expect(row.passwordEncrypted).toMatch(/^v1:/);
    expect(row.passwordEncrypted).not.toContain(SECRET);
    const { endpoint } = await app.strapi.plugin('multi-smtp').service('servers').endpoint(id);
    expect(endpoint.password).toBe(SECRET);
  });

  it('never lets a stored password follow the server to a new destination', async () => {
    const created = await api.post('/multi-smtp/servers', {
      name: 'bound-password',
      host: 'smtp.provider.example',
      port: 587,
      username: 'site@example.com',
      password: SECRET,
    });
    const id = created.body.data.documentId;
    const row = () => app.strapi.db.query('plugin::multi-smtp.server').findOne({ where: { documentId: id } });
    const before = await row();

    for (const [label, change] of [
      ['host', { host: 'attacker.example' }],
      ['port', { port: 2525 }],
      ['security', { security: 'none' }],
      ['username', { username: 'other@example.com' }],
      ['certificate checks off', { tlsRejectUnauthorized: false }],
    ] as const) {
      const refused = await api.put(`/multi-smtp/servers/${id}`, change);
      expect({ label, status: refused.status }).toEqual({ label, status: 400 });
      expect(refused.body.error.details.errors).toEqual([expect.objectContaining({ path: ['password'], message: expect.stringMatching(/entered again/) })]);
      // Nothing was written: the server still points where the password was entered for.
      expect(await row()).toMatchObject({ host: before.host, port: before.port, security: before.security, username: before.username, passwordEncrypted: before.passwordEncrypted });
    }

    // The same values again, or other fields, need no password.
    expect((await api.put(`/multi-smtp/servers/${id}`, { host: 'smtp.provider.example', port: 587, weight: 3 })).status).toBe(200);
    // With the password given again, or removed, the move is allowed.
    const moved = await api.put(`/multi-smtp/servers/${id}`, { host: 'smtp2.provider.example', password: 'n3w-Secret' });
    expect(moved.status).toBe(200);
    expect(moved.body.data).toMatchObject({ host: 'smtp2.provider.example', hasPassword: true });
    const dropped = await api.put(`/multi-smtp/servers/${id}`, { host: 'smtp3.provider.example', password: null });
    expect(dropped.body.data).toMatchObject({ host: 'smtp3.provider.example', hasPassword: false });
    // Without a stored password there is nothing to protect.
    expect((await api.put(`/multi-smtp/servers/${id}`, { host: 'anywhere.example' })).status).toBe(200);
  });

  const valid = { name: 'valid-base', host: 'smtp.example.com', port: 587 };

  it.each([
    ['port out of range', { port: 65536 }, 'port', /between 1 and 65535/],
    ['port not a number', { port: 'abc' }, 'port', /whole number|number/],
    ['unknown security mode', { security: 'ssl' }, 'security', /one of: none, starttls, tls/],
    ['negative hourly limit', { hourlyLimit: -1 }, 'hourlyLimit', /negative/],
    ['negative daily limit', { dailyLimit: -10 }, 'dailyLimit', /negative/],
    ['negative weight', { weight: -1 }, 'weight', /negative/],
    ['missing host', { host: undefined }, 'host', /required/],
    ['CR/LF in from name', { fromName: 'Shop\r\nBcc: victim@example.com' }, 'fromName', /line break/],
    ['CR/LF in from address', { fromAddress: 'a@example.com\nBcc: b@example.com' }, 'fromAddress', /line break/],
    ['CR/LF in username', { username: 'user\r\nRCPT TO:<x@y.z>' }, 'username', /line break/],
    ['CR/LF in password', { password: 'pa\r\nss' }, 'password', /line break/],
    ['group that does not exist', { group: 'nope0000000000000000000' }, 'group', /does not exist/],
    ['unknown field', { hourlyLimt: 5 }, 'hourlyLimt', /not a known field/],
  ])('answers 400 for %s, naming the field, and writes nothing', async (_label, patch, field, reason) => {
    const before = await countServers();
    const response = await api.post('/multi-smtp/servers', { ...valid, name: `bad-${field}`, ...patch });
    expect(response.status).toBe(400);
    expect(response.body.error.name).toBe('ValidationError');
    const fieldError = response.body.error.details.errors.find((error: { path: string[] }) => error.path[0] === field);
    expect(fieldError?.message).toMatch(reason);
    expect(response.body.error.message).toContain(field);
    expect(await countServers()).toBe(before);
  });

  it('refuses a duplicate name (any case) on create and update', async () => {
    expect((await api.post('/multi-smtp/servers', { ...valid, name: 'Unique One' })).status).toBe(201);
    const duplicate = await api.post('/multi-smtp/servers', { ...valid, name: 'unique one' });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.error.details.errors[0]).toMatchObject({ path: ['name'], message: 'is already used by another server' });

    const other = await api.post('/multi-smtp/servers', { ...valid, name: 'Unique Two' });
    const rename = await api.put(`/multi-smtp/servers/${other.body.data.documentId}`, { name: 'UNIQUE ONE', weight: 9 });
    expect(rename.status).toBe(400);
    // Nothing half-written: the weight in the same request was not applied either.
    expect((await api.get(`/multi-smtp/servers/${other.body.data.documentId}`)).body.data).toMatchObject({ name: 'Unique Two', weight: 1 });
  });

  it('answers 400 for a bad update and leaves the record as it was', async () => {
    const server = (await api.post('/multi-smtp/servers', { ...valid, name: 'stable' })).body.data;
    const response = await api.put(`/multi-smtp/servers/${server.documentId}`, { port: 0, weight: 4 });
    expect(response.status).toBe(400);
    expect(response.body.error.details.errors[0].path).toEqual(['port']);
    expect((await api.get(`/multi-smtp/servers/${server.documentId}`)).body.data).toMatchObject({ port: 587, weight: 1 });
  });

  it('answers 404 for an unknown server', async () => {
    expect((await api.get('/multi-smtp/servers/doesnotexist000000000000')).status).toBe(404);
    expect((await api.put('/multi-smtp/servers/doesnotexist000000000000', { weight: 1 })).status).toBe(404);
    expect((await api.delete('/multi-smtp/servers/doesnotexist000000000000')).status).toBe(404);
  });
});
