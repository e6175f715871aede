import { applyProcessRole, processRole, ROLE_ENV } from '../../server/src/config/role';
import { parsePluginConfig } from '../../server/src/config/schema';

const config = parsePluginConfig({ encryptionKey: Buffer.alloc(32, 7).toString('base64'), worker: { enabled: false, concurrency: 4 } });

describe('the process role (MULTI_SMTP_ROLE, set by the multi-smtp-worker command)', () => {
  it('leaves the config alone when unset or empty', () => {
    expect(processRole({})).toBe('config');
    expect(processRole({ [ROLE_ENV]: '  ' })).toBe('config');
    expect(applyProcessRole(config, 'config')).toBe(config);
  });

  it('turns the workers on in a worker process even when the shared config turns them off', () => {
    expect(processRole({ [ROLE_ENV]: 'worker' })).toBe('worker');
    const worker = applyProcessRole(config, 'worker');
    expect(worker.worker).toEqual({ ...config.worker, enabled: true });
    expect(config.worker.enabled).toBe(false); // not changed in place
  });

  it('turns the workers off in a one-off task (the key rotation) even when the config turns them on', () => {
    const on = parsePluginConfig({ encryptionKey: Buffer.alloc(32, 7).toString('base64') });
    expect(processRole({ [ROLE_ENV]: 'task' })).toBe('task');
    expect(applyProcessRole(on, 'task').worker.enabled).toBe(false);
  });

  it('refuses a value it does not know, naming the variable', () => {
    expect(() => processRole({ [ROLE_ENV]: 'workers' })).toThrow(/MULTI_SMTP_ROLE must be "worker", "task" or unset, not "workers"/);
  });
});
