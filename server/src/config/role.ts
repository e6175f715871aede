import type { PluginConfig } from './schema';

/**
 * What this process is, told by its environment rather than by the app's config: web and worker
 * nodes share the same config files (`worker.enabled: false` on the web nodes), so the standalone
 * worker command (scripts/multi-smtp-worker.js) needs another way to turn its workers on. It sets
 * MULTI_SMTP_ROLE=worker before Strapi loads; nothing else reads the variable (runtime.config()
 * applies it once).
 *
 * - unset or empty: the config decides (`worker.enabled`);
 * - `worker`: queue workers, campaign fan-out and the scheduler run here whatever `worker.enabled` says
 *   (the fan-out unless `campaigns.fanOut` is false);
 * - `task`: a one-off command (multi-smtp-rotate-key) that loads the app to do its job and exits: no
 *   workers and no fan-out, whatever `worker.enabled` and `campaigns.fanOut` say.
 *
 * `campaigns.fanOut: true` runs the fan-out and scheduler on a node whose queue worker is off.
 */
export const ROLE_ENV = 'MULTI_SMTP_ROLE';

export type ProcessRole = 'config' | 'worker' | 'task';

/** Throws on a value it does not know, so a typo stops the boot instead of silently running no workers. */
export const processRole = (env: NodeJS.ProcessEnv = process.env): ProcessRole => {
  const value = env[ROLE_ENV]?.trim();
  if (!value) return 'config';
  if (value === 'worker' || value === 'task') return value;
  throw new Error(`multi-smtp: ${ROLE_ENV} must be "worker", "task" or unset, not "${value}"`);
};

/**
 * The config as this process runs it: a worker process runs its workers even when the shared config
 * turns them off; a task runs neither workers nor the campaign fan-out. An explicit
 * `campaigns.fanOut` is kept in a worker process (`false` keeps the fan-out on other nodes).
 */
export const applyProcessRole = (config: PluginConfig, role: ProcessRole): PluginConfig => {
  if (role === 'config') return config;
  const worker = { ...config.worker, enabled: role === 'worker' };
  return role === 'task' ? { ...config, worker, campaigns: { ...config.campaigns, fanOut: false } } : { ...config, worker };
};

/**
 * Whether this process runs the campaign runner (the fan-out and the scheduler): `campaigns.fanOut`
 * when given, else wherever queue workers run. Apply the process role first.
 */
export const runsCampaignFanOut = (config: Pick<PluginConfig, 'worker' | 'campaigns'>): boolean => config.campaigns.fanOut ?? config.worker.enabled;
