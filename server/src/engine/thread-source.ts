/**
 * Where a worker thread's code comes from, for the plugin's thread pools (bounce-parse-pool.ts,
 * smtp-threads.ts). Each thread runs a small entry module of its own, not the whole server bundle
 * (Strapi's utilities, BullMQ, ioredis...), so it loads in milliseconds:
 *
 *   - the built package: dist/<bundle>/index.js, the entry's own bundle (a package.json "exports"
 *     entry whose `source` is the entry, built by `strapi-plugin build`), beside this bundle's
 *     dist/server/index.js;
 *   - the TypeScript sources (Jest, tools): engine/<entry>.ts, compiled on load with @swc/core (a dev
 *     dependency) by a small loader the thread runs first;
 *   - neither (an unusual bundling, an ESM build without __dirname): null, and the pool does its work
 *     on the main thread.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface ThreadSource {
  /** A script file, or code to eval. */
  script: string;
  eval: boolean;
}

/**
 * How to start a thread running `entry` (a file name beside this module, without `.ts`) or its
 * built bundle dist/`bundle`/index.js, from where this module was loaded; null when neither is there.
 */
export function threadSource(bundle: string, entry: string): ThreadSource | null {
  const dir = typeof __dirname === 'string' ? __dirname : null;
  const file = typeof __filename === 'string' ? __filename : '';
  if (!dir) return null;
  // The built package: this code is bundled into dist/server/index.js, the entry into dist/<bundle>/.
  const built = path.resolve(dir, '..', bundle, 'index.js');
  if (!file.endsWith('.ts') && fs.existsSync(built)) return { script: built, eval: false };
  // The TypeScript sources.
  const source = path.join(dir, `${entry}.ts`);
  if (!file.endsWith('.ts') || !fs.existsSync(source)) return null;
  let swc: string;
  try {
    swc = require.resolve('@swc/core');
  } catch {
    return null;
  }
  const code = `
    const fs = require('node:fs');
    const swc = require(${JSON.stringify(swc)});
    require.extensions['.ts'] = (module, filename) => {
      const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
        filename,
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
      });
      module._compile(code, filename);
    };
    require(${JSON.stringify(source)});`;
  return { script: code, eval: true };
}
