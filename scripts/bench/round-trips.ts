import { Redis } from 'ioredis';

/**
 * Counts the Redis round trips this process makes (Strapi's engine and BullMQ included: they all
 * use this one ioredis), by wrapping ioredis' sendCommand. A command sent on its own is one round
 * trip, named after the command, or after its script for EVALSHA (`script:moveToFinished-14`,
 * `script:multiSmtpQuotaReserve`); a pipeline or MULTI is one round trip, named `pipeline`.
 */

type SendCommand = (
  this: Redis,
  command: { name: string; args: unknown[] },
  stream?: object,
  ...rest: unknown[]
) => unknown;

const counts = new Map<string, number>();
/** Each pipeline exec passes its own stream object to sendCommand for every command it holds. */
const pipelinesSeen = new WeakSet<object>();
const scriptNames = new Map<string, string>();
let installed = false;

const scriptNameOf = (client: Redis, sha: string): string => {
  const known = scriptNames.get(sha);
  if (known) return known;
  const scripts = (client as unknown as { scriptsSet: Record<string, { sha?: string }> }).scriptsSet ?? {};
  const name = Object.entries(scripts).find(([, script]) => script.sha === sha)?.[0];
  if (name) scriptNames.set(sha, `script:${name}`);
  return name ? `script:${name}` : 'evalsha';
};

const bump = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);

export const installRoundTripCounter = () => {
  if (installed) return;
  installed = true;
  const prototype = Redis.prototype as unknown as { sendCommand: SendCommand };
  const original = prototype.sendCommand;
  prototype.sendCommand = function countedSendCommand(this: Redis, command, stream, ...rest) {
    if (stream) {
      if (!pipelinesSeen.has(stream)) {
        pipelinesSeen.add(stream);
        bump('pipeline');
      }
    } else if (command.name === 'evalsha') {
      bump(scriptNameOf(this, String(command.args[0])));
    } else {
      bump(command.name);
    }
    return original.call(this, command, stream, ...rest);
  };
};

/** Round trips so far, by name. */
export const roundTripCounts = (): Map<string, number> => new Map(counts);
