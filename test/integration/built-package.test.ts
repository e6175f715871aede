import fs from 'node:fs';
import path from 'node:path';

import { asAdmin, BUILT_PLUGIN_PATH, startStrapi, type TestStrapi } from '../helpers/strapi';

/**
 * The other integration tests load the TypeScript sources; this one loads the package as published
 * (package.json exports -> dist/), so a build that drifts from the sources, or an entry Strapi would
 * skip silently, fails here. `npm test` builds before it runs.
 */
describe('the built package', () => {
  let app: TestStrapi;

  beforeAll(async () => {
    const entry = path.join(BUILT_PLUGIN_PATH, 'dist', 'server', 'index.js');
    if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
    app = await startStrapi({ useBuild: true });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('is loaded by Strapi from dist/ and serves the admin API', async () => {
    const api = asAdmin(app);
    const created = await api.post('/multi-smtp/servers', { name: 'from-dist', host: 'smtp.example.com', port: 587, password: 'dist-secret' });
    expect(created.status).toBe(201);
    expect(created.body.data.hasPassword).toBe(true);
    expect(created.text).not.toContain('dist-secret');
    const groups = await api.get('/multi-smtp/groups');
    expect(groups.body.data.map((group: { slug: string }) => group.slug)).toContain('default');
  });
});
