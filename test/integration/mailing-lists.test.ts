import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';

describe('mailing lists admin API', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;

  const createList = async (body: object) => {
    const response = await api.post('/multi-smtp/lists', body);
    expect(response.status).toBe(201);
    return response.body.data as { documentId: string; name: string };
  };

  const expectFieldError = (response: { status: number; body: { error: { details: { errors: { path: string[] }[] } } } }, field: string) => {
    expect(response.status).toBe(400);
    expect(response.body.error.details.errors.map((error) => error.path.join('.'))).toContain(field);
  };

  beforeAll(async () => {
    app = await startStrapi();
    api = asAdmin(app);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('creates, reads, updates and deletes a list', async () => {
    const list = await createList({ name: 'Newsletter', description: 'Monthly news' });
    const fetched = await api.get(`/multi-smtp/lists/${list.documentId}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body.data).toMatchObject({
      name: 'Newsletter',
      description: 'Monthly news',
      subscriberCount: 0,
      subscribedCount: 0,
    });

    const updated = await api.put(`/multi-smtp/lists/${list.documentId}`, { name: 'Monthly newsletter', description: null });
    expect(updated.status).toBe(200);
    expect(updated.body.data).toMatchObject({ name: 'Monthly newsletter', description: null });

    expect((await api.delete(`/multi-smtp/lists/${list.documentId}`)).status).toBe(204);
    expect((await api.get(`/multi-smtp/lists/${list.documentId}`)).status).toBe(404);
    expect((await api.put(`/multi-smtp/lists/${list.documentId}`, { name: 'x' })).status).toBe(404);
    expect((await api.delete(`/multi-smtp/lists/${list.documentId}`)).status).toBe(404);
  });

  it('counts subscribers per list, all and subscribed only', async () => {
    const a = await createList({ name: 'Count A' });
    const b = await createList({ name: 'Count B' });
    const subscribers = [
      { email: 'c1@example.com', lists: [a.documentId, b.documentId] },
      { email: 'c2@example.com', lists: [a.documentId] },
      { email: 'c3@example.com', lists: [a.documentId], status: 'unsubscribed' },
    ];
    for (const body of subscribers) expect((await api.post('/multi-smtp/subscribers', body)).status).toBe(201);

    const listed = await api.get('/multi-smtp/lists?q=count&sort=name:asc');
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((list: { name: string; subscriberCount: number; subscribedCount: number }) => [list.name, list.subscriberCount, list.subscribedCount])).toEqual([
      ['Count A', 3, 2],
      ['Count B', 1, 1],
    ]);
    expect(listed.body.meta.pagination).toEqual({ page: 1, pageSize: 25, pageCount: 1, total: 2 });

    // Deleting a list keeps its subscribers.
    expect((await api.delete(`/multi-smtp/lists/${b.documentId}`)).status).toBe(204);
    const c1 = await api.get('/multi-smtp/subscribers?q=c1@example.com');
    expect(c1.body.data[0].lists).toEqual([{ documentId: a.documentId, name: 'Count A' }]);
  });

  it('refuses a second list with the same name, in any case', async () => {
    await createList({ name: 'Unique name' });
    expectFieldError(await api.post('/multi-smtp/lists', { name: 'unique NAME' }), 'name');
    const other = await createList({ name: 'Other name' });
    expectFieldError(await api.put(`/multi-smtp/lists/${other.documentId}`, { name: 'Unique name' }), 'name');
    // Renaming a list to its own name is fine.
    expect((await api.put(`/multi-smtp/lists/${other.documentId}`, { name: 'Other name' })).status).toBe(200);
  });

  it('answers bad input with 400 naming the field', async () => {
    expectFieldError(await api.post('/multi-smtp/lists', {}), 'name');
    expectFieldError(await api.post('/multi-smtp/lists', { name: '   ' }), 'name');
    expectFieldError(await api.post('/multi-smtp/lists', { name: 'x'.repeat(201) }), 'name');
    expectFieldError(await api.post('/multi-smtp/lists', { name: 'a\nb' }), 'name');
    expectFieldError(await api.post('/multi-smtp/lists', { name: 'ok', description: 5 }), 'description');
    expectFieldError(await api.post('/multi-smtp/lists', { name: 'ok', color: 'red' }), 'color');
    expectFieldError(await api.get('/multi-smtp/lists?sort=color:asc'), 'sort');
    expectFieldError(await api.get('/multi-smtp/lists?pageSize=1000'), 'pageSize');
    expectFieldError(await api.get('/multi-smtp/lists?page=0'), 'page');
  });

  it('refuses to delete a list a campaign not yet finished sends to', async () => {
    const list = await createList({ name: 'In use' });
    const campaign = await app.strapi.db.query('plugin::multi-smtp.campaign' as never).create({
      data: { name: 'Spring sale', status: 'draft', audience: { type: 'lists', lists: [list.documentId], filters: [] } },
    });
    const refused = await api.delete(`/multi-smtp/lists/${list.documentId}`);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/Spring sale/);

    await app.strapi.db.query('plugin::multi-smtp.campaign' as never).update({ where: { id: campaign.id }, data: { status: 'completed' } });
    expect((await api.delete(`/multi-smtp/lists/${list.documentId}`)).status).toBe(204);
  });
});
