// The server entry, as Strapi resolves it through package.json `exports['./strapi-server']` after a build.
export { default } from './server/src';
