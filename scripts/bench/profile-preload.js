/**
 * Preloaded (NODE_OPTIONS=--require) into the benchmark's worker processes when BENCH_CPU_PROFILE
 * is set: Node refuses --cpu-prof in NODE_OPTIONS, so this starts V8's CPU profiler through the
 * inspector and writes `<BENCH_WORKER_PROFILE_DIR>/worker-<pid>.cpuprofile` when the process exits
 * (the inspector answers synchronously on the main thread, so it works in an 'exit' handler;
 * process.exit is wrapped too, since Strapi's destroy removes every process listener).
 */
const fs = require('node:fs');
const inspector = require('node:inspector');
const path = require('node:path');

const dir = process.env.BENCH_WORKER_PROFILE_DIR;
if (dir) {
  fs.mkdirSync(dir, { recursive: true });
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    session.post('Profiler.stop', (error, result) => {
      if (!error) fs.writeFileSync(path.join(dir, `worker-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  };
  process.on('exit', write);
  // Strapi's destroy removes every process listener (ours included) before the command exits.
  const exit = process.exit.bind(process);
  process.exit = (code) => {
    write();
    return exit(code);
  };
}
