import { startStrapi, type TestStrapi } from '../helpers/strapi';

describe('plugin boot', () => {
  let app: TestStrapi;
  beforeAll(async () => {
    app = await startStrapi();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('loads the plugin with its content types', () => {
    expect(app.strapi.plugin('multi-smtp')).toBeDefined();
    expect(app.strapi.contentType('plugin::multi-smtp.server')).toBeDefined();
    expect(app.strapi.contentType('plugin::multi-smtp.group')).toBeDefined();
  });
});
