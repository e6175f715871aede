import type { Core } from '@strapi/strapi';

import { applyProcessRole, processRole } from '../config/role';
import { parsePluginConfig, type PluginConfig } from '../config/schema';
import { createSecretBox, parseEncryptionKey, type SecretBox } from '../engine/secret-box';
import { createTrackingTokens, type TrackingTokens } from '../engine/tracking';
import { createUnsubscribeTokens, type UnsubscribeTokens } from '../engine/unsubscribe';
import { PLUGIN_ID } from '../../../shared/plugin-id';

/**
 * What the rest of the plugin needs from its configuration, built once: the parsed config (with
 * defaults filled) and the secret box. Kept in a service, not hung on `strapi`.
 */
const runtime = ({ strapi }: { strapi: Core.Strapi }) => {
  let config: PluginConfig | undefined;
  let secretBox: SecretBox | undefined;
  let unsubscribeTokens: UnsubscribeTokens | undefined;
  let trackingTokens: TrackingTokens | undefined;

  return {
    config(): PluginConfig {
      // The standalone worker command runs workers whatever the shared config says (config/role.ts).
      config ??= applyProcessRole(parsePluginConfig(strapi.config.get(`plugin::${PLUGIN_ID}`)), processRole());
      return config;
    },

    secrets(): SecretBox {
      secretBox ??= createSecretBox(this.config().encryptionKey, this.config().previousEncryptionKeys);
      return secretBox;
    },

    /** The key ring: the current encryption key first, then the previous ones (config previousEncryptionKeys). */
    encryptionKeys(): Buffer[] {
      const { encryptionKey, previousEncryptionKeys } = this.config();
      return [encryptionKey, ...previousEncryptionKeys].map(parseEncryptionKey);
    },

    /** Signs and checks unsubscribe tokens; the MAC key is derived from the encryption key (HKDF, its own label); old keys still verify. */
    unsubscribeTokens(): UnsubscribeTokens {
      unsubscribeTokens ??= createUnsubscribeTokens(this.encryptionKeys());
      return unsubscribeTokens;
    },

    /** Signs and checks open and click tracking tokens, as unsubscribe tokens do. */
    trackingTokens(): TrackingTokens {
      trackingTokens ??= createTrackingTokens(this.encryptionKeys());
      return trackingTokens;
    },
  };
};

export type RuntimeService = ReturnType<typeof runtime>;
export default runtime;
