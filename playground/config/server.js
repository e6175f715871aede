// Loopback only: this is a demo with fixed, public secrets.
module.exports = () => ({
  host: '127.0.0.1',
  port: Number(process.env.PORT || 1337),
  app: { keys: ['multi-smtp-demo-key-one', 'multi-smtp-demo-key-two'] },
  // No "a new Strapi version is available" check: the plugin pins the version it was built for.
  logger: { updates: { enabled: false } },
});
