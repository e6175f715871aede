/**
 * The bounce parser on its own, and its worker thread.
 *
 * Built by `strapi-plugin build` into dist/bounce-parser/index.js (package.json exports
 * "./bounce-parser"): a small, dependency-free bundle of the parser, so a worker thread loads it in
 * milliseconds instead of the whole server bundle (Strapi's utilities, BullMQ, ioredis...). Loaded in
 * the main thread it only exports the parser; loaded as a worker of bounce-parse-pool.ts (workerData
 * role WORKER_ROLE) it parses the messages posted to it:
 *
 *   in:  { id, bytes: Uint8Array }         out: { id, result: ParsedBounce } | { id, error }
 *   and once loaded: { ready: true }
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

import { parseBounceSync } from './bounce-parser';

export { parseBounce, parseBounceSync, splitMbox, splitMboxText } from './bounce-parser';
export type { BounceKind, BouncedRecipient, ParsedBounce, ParseBounceOptions } from './bounce-parser';

export const WORKER_ROLE = 'multi-smtp-bounce-parser';

interface WorkerData {
  role?: string;
  /** Test only (bounce-parse-pool's testSlowMarker): a message containing it never finishes parsing. */
  slowMarker?: string;
}

const data = (workerData ?? {}) as WorkerData;
if (!isMainThread && parentPort && data.role === WORKER_ROLE) {
  const port = parentPort;
  port.on('message', (message: { id: number; bytes: Uint8Array }) => {
    try {
      const bytes = Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength);
      if (data.slowMarker && bytes.includes(data.slowMarker)) for (;;); // a parse that never ends
      port.postMessage({ id: message.id, result: parseBounceSync(bytes) });
    } catch (error) {
      port.postMessage({ id: message.id, error: String(error) });
    }
  });
  port.postMessage({ ready: true });
}
