'use strict';
/**
 * What the package's commands share (multi-smtp-worker, multi-smtp-rotate-key): loading the Strapi
 * app of the current folder as `strapi start` does, without serving HTTP, and one-line messages.
 */
const fs = require('node:fs');
const path = require('node:path');

/** Read by the plugin alone (server/src/config/role.ts). */
const ROLE_ENV = 'MULTI_SMTP_ROLE';
const PLUGIN_ID = 'multi-smtp';

const createCommand = (name, appDir = process.cwd()) => {
  const say = (message) => process.stdout.write(`${name}: ${message}\n`);
  const die = (message, code = 1) => {
    process.stderr.write(`${name}: ${message}\n`);
    process.exit(code);
  };

  /** A module as the app resolves it (its own @strapi/strapi, not one next to this package). */
  const requireFromApp = (id, from = appDir) => {
    let resolved;
    try {
      resolved = require.resolve(id, { paths: [from] });
    } catch {
      die(`cannot find ${id} from ${from}: run ${name} from the folder of a Strapi 5 app whose dependencies are installed`);
    }
    return require(resolved);
  };

  /** Where the app's compiled code is: the app itself (JS), or the TypeScript build output, compiled when missing. */
  const resolveDistDir = async (strapiCore) => {
    if (!fs.existsSync(path.join(appDir, 'tsconfig.json'))) return appDir;
    const strapiDir = path.dirname(require.resolve('@strapi/strapi/package.json', { paths: [appDir] }));
    const tsUtils = requireFromApp('@strapi/typescript-utils', strapiDir);
    const outDir = await tsUtils.resolveOutDir(appDir);
    // What `strapi build` leaves (strapi start looks for the same).
    if (fs.existsSync(path.join(outDir, 'src', 'index.js')) || fs.existsSync(path.join(outDir, 'config'))) return outDir;
    say(`no build output in ${outDir}: compiling the TypeScript app first`);
    const { distDir } = await strapiCore.compileStrapi({ appDir });
    return distDir;
  };

  /**
   * Creates the app's Strapi (not loaded yet) in the given role: the plugin reads MULTI_SMTP_ROLE
   * before it reads its config ('worker' runs the workers, 'task' runs none).
   */
  const createApp = async (role) => {
    process.env[ROLE_ENV] = role;
    const strapiCore = requireFromApp('@strapi/strapi');
    const distDir = await resolveDistDir(strapiCore);
    return strapiCore.createStrapi({ appDir, distDir, autoReload: false, serveAdminPanel: false });
  };

  /** Loads it; exits 1 with the reason when the app fails to load or the plugin is not enabled in it. */
  const loadApp = async (strapi) => {
    try {
      await strapi.load();
    } catch (error) {
      die(`the Strapi app in ${appDir} failed to load: ${error && error.stack ? error.stack : error}`);
    }
    const plugin = strapi.plugin(PLUGIN_ID);
    if (!plugin) {
      await strapi.destroy().catch(() => undefined);
      die(`the ${PLUGIN_ID} plugin is not enabled in the Strapi app in ${appDir} (config/plugins)`);
    }
    return plugin;
  };

  /** --help prints the file's leading comment. */
  const helpFrom = (file) => `${fs.readFileSync(file, 'utf8').split('*/')[0].replace(/^#!.*\n/, '')}*/\n`;

  return { appDir, say, die, createApp, loadApp, helpFrom };
};

module.exports = { createCommand, ROLE_ENV, PLUGIN_ID };
