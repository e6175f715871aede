module.exports = [
  'strapi::logger',
  'strapi::errors',
  'strapi::security',
  'strapi::cors',
  'strapi::poweredBy',
  'strapi::query',
  'strapi::body',
  'strapi::session',
  // Required by Strapi; serves playground/favicon.png.
  'strapi::favicon',
  'strapi::public',
];
