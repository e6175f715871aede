import type { PluginConfig } from './schema';

/**
 * What this process is, told by its environment rather than by the app's config: web and worker
 * nodes share the same config files (`worker.enabled: false` on the web nodes), so the standalone
 * worker command (scripts/multi-smtp-worker.js) needs another way to turn its workers on. It sets
 * MULTI_SMTP_ROLE=worker before Strapi loads; nothing else reads the variable (runtime.config()
 * applies it once).
 *
 * - unset or empty: the config decides (`worker.enabled`);
 * - `worker`: queue workers, campaign fan-out and the scheduler run here whatever `worker.enabled` says;
 * - `task`: a one-off command (multi-smtp-rotate-key) that loads the app to do its job and exits: no
 *   workers, whatever `worker.enabled` says.
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

/** The config as this process runs it: a worker process runs its workers even when the shared config turns them off. */
export const applyProcessRole = (config: PluginConfig, role: ProcessRole): PluginConfig =>
  role === 'config' ? config : { ...config, worker: { ...config.worker, enabled: role === 'worker' } };
