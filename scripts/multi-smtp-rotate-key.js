#!/usr/bin/env node
/**
 * multi-smtp-rotate-key: re-encrypts every secret the plugin stores (SMTP passwords, DKIM private keys) under the
 * current encryption key, after the key was changed. Run it once from the Strapi app's folder:
 *
 *   1. Make a new key:  node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"
 *   2. On every node: MULTI_SMTP_ENCRYPTION_KEY=<new key>, and the old key in
 *      MULTI_SMTP_PREVIOUS_ENCRYPTION_KEYS (config previousEncryptionKeys); restart them. Secrets
 *      stored under the old key still decrypt, links signed with it still verify.
 *   3. cd /srv/my-strapi-app && npx multi-smtp-rotate-key
 *   4. Keep the old key in previousEncryptionKeys as long as the links in mail already sent matter
 *      (unsubscribe links: months; tracking links and bounce addresses: weeks), then remove it.
 *
 * It loads the app without serving HTTP and without workers (MULTI_SMTP_ROLE=task), prints one JSON
 * line with what it did ({"checked":N,"reencrypted":N}; never a secret) and exits 0. Running it again
 * finds nothing to do. Exit 1: the app failed to load, the plugin is not enabled, or a secret could
 * not be decrypted (its key is not in the ring; the message says which key id).
 */
'use strict';

const { createCommand } = require('./strapi-app');

const { say, die, createApp, loadApp, helpFrom } = createCommand('multi-smtp-rotate-key');

const args = process.argv.slice(2);
if (args.includes('-h') || args.includes('--help')) {
  process.stdout.write(helpFrom(__filename));
  process.exit(0);
}
if (args.length > 0) die(`unknown argument "${args[0]}" (run it from the Strapi app's folder, with no arguments; --help)`, 64);

const main = async () => {
  const strapi = await createApp('task');
  const plugin = await loadApp(strapi);
  let result;
  let passwords;
  let dkimKeys;
  try {
    passwords = await plugin.service('servers').reencryptPasswords();
    dkimKeys = await plugin.service('sendingDomains').reencryptPrivateKeys();
    result = { checked: passwords.checked + dkimKeys.checked, reencrypted: passwords.reencrypted + dkimKeys.reencrypted };
  } catch (error) {
    await strapi.destroy().catch(() => undefined);
    die(`re-encrypting failed: ${error && error.message ? error.message : error}`);
  }
  await strapi.destroy();
  say(
    `key ${plugin.service('runtime').secrets().keyId}: ${passwords.reencrypted} of ${passwords.checked} stored passwords and ${dkimKeys.reencrypted} of ${dkimKeys.checked} DKIM private keys re-encrypted`
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
};

main().catch((error) => die(error && error.stack ? error.stack : String(error)));
