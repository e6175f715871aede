/**
 * Lets a plain Node child process (a test's extra worker, a benchmark) require the plugin's
 * TypeScript sources directly: each .ts file is compiled to CommonJS with @swc/core on load,
 * the same compiler Jest uses through @swc/jest.
 */
const fs = require('node:fs');

const swc = require('@swc/core');

if (!require.extensions['.ts']) {
  require.extensions['.ts'] = (module, filename) => {
    const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
      filename,
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'commonjs' },
    });
    module._compile(code, filename);
  };
}
