/**
 * What the demo seeds and what `npm run demo` prints: one place, so the login it shows is the one
 * that exists and the SMTP servers it starts are the ones Strapi is configured with.
 */
module.exports = {
  admin: {
    email: 'admin@example.com',
    password: 'Demo-Passw0rd',
    firstname: 'Demo',
    lastname: 'Admin',
  },

  groups: [
    {
      name: 'Transactional',
      slug: 'transactional',
      description: 'Password resets, receipts, notifications. Default for mail that names no group.',
      strategy: 'weighted',
      isDefault: true,
    },
    {
      name: 'Marketing',
      slug: 'marketing',
      description: 'Newsletters and campaigns.',
      strategy: 'weighted',
      isDefault: false,
    },
  ],

  // The HTTP page listing what the demo relays received.
  mailViewerPort: 1080,

  // The three local SMTP servers playground/scripts/demo.js starts on 127.0.0.1.
  relays: [
    { name: 'Demo relay A', port: 2525, weight: 5, groupSlug: 'transactional' },
    { name: 'Demo relay B', port: 2526, weight: 3, groupSlug: 'transactional' },
    { name: 'Demo relay C', port: 2527, weight: 2, groupSlug: 'marketing' },
  ],
};
