import type { Cluster, Redis } from 'ioredis';

import { WRITE_STATE_FUNCTION_LUA, writeStateCall, type FinishedCounters, type StateChange } from './message-store';
import { RELEASE_FUNCTION_LUA, type Reservation } from './quota';
import { redisScript } from './redis-script';

/**
 * Everything Redis learns from one SMTP attempt, in one script call: the message's state (final and
 * counted once, or the attempt recorded), the quota reservation released (refunded when the server
 * did not accept), and the server's per-minute statistics. One command where there were three round
 * trips' worth (a MULTI of five, a release script, a pipeline of two); the engine's per-message
 * Redis cost is mostly commands, so fewer of them is most of the saving. Atomic, too: the accept
 * and the release can no longer be half done.
 *
 * The steps are the message store's and the quota store's own Lua functions (writeState,
 * releaseReservation), so each module keeps the rules of its keys. All keys share one hash slot on
 * Redis Cluster: the plugin's key prefix is hash-tagged there (services/redis-connection.ts).
 *
 * KEYS: 1-3 writeState's (message, depth, campaign counters), 4-7 releaseReservation's (leases,
 * hour, day, open), 8 the statistics hash.
 * ARGV: 1-4 writeState's (hasCampaign, final, depth field, retention), 5-8 releaseReservation's
 * (token, accepted, reservation id, keep lease), 9 statistics field ('' for none), 10 its TTL in
 * seconds, then the message's field/value pairs.
 */
const ATTEMPT_LUA = `${WRITE_STATE_FUNCTION_LUA}${RELEASE_FUNCTION_LUA}
local fields = {}
for index = 11, #ARGV do fields[#fields + 1] = ARGV[index] end
local written = writeState(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], fields)
releaseReservation(KEYS[4], KEYS[5], KEYS[6], KEYS[7], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
if ARGV[9] ~= '' then
  redis.call('HINCRBY', KEYS[8], ARGV[9], 1)
  redis.call('EXPIRE', KEYS[8], tonumber(ARGV[10]))
end
return written
`;
const attemptScript = redisScript(ATTEMPT_LUA);

export interface AttemptWrite {
  messageKey: string;
  change: StateChange;
  /** For a final status: where it is counted. */
  finished?: FinishedCounters;
  reservation: Reservation;
  /** releaseKeysOf(reservation) of the quota store. */
  releaseKeys: [string, string, string, string];
  accepted: boolean;
  /** The connection stays open: its lease is kept. */
  keepLease: boolean;
  /** A statistics hash and field to count the attempt in, if any. */
  stat?: { key: string; field: string; ttlSec: number };
}

/** Runs the attempt script; resolves true when the message's state was written (false: it was gone or final already). */
export const writeAttempt = async (redis: Redis | Cluster, retentionSec: number, write: AttemptWrite): Promise<boolean> => {
  const call = writeStateCall(write.messageKey, write.change, write.finished, retentionSec);
  const statKey = write.stat?.key ?? call.keys[0]!;
  const written = await attemptScript<number>(
    redis,
    [...call.keys, ...write.releaseKeys, statKey],
    [
      ...call.args,
      write.reservation.token,
      write.accepted ? '1' : '0',
      write.reservation.id,
      write.keepLease ? '1' : '0',
      write.stat?.field ?? '',
      String(write.stat?.ttlSec ?? 0),
      ...call.fields,
    ]
  );
  return Number(written) === 1;
};
