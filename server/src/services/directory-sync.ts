import { randomUUID } from 'node:crypto';

import type { Core } from '@strapi/strapi';

import { getService } from '../utils/get-service';

/**
 * Every node keeps a snapshot of the servers and groups (engine/directory.ts), reloaded when it is
 * 5 s old. A change made on one node (admin API, content manager, a suspension, a protection trip)
 * reaches the others through Redis pub/sub instead: the node that made it publishes a small message
 * on `<prefix>:directory:changed`, and every node drops its snapshot (and its health cache) when it
 * hears one, so its next message reads the database again. The 5 s age stays as the backstop for a
 * message lost while a subscriber was reconnecting.
 *
 * A change made in a database transaction is announced after the commit: announced before it,
 * another node could reload, read the old rows and keep them for 5 s.
 */

interface Announcement {
  /** The node that published it: it already dropped its own snapshot. */
  from: string;
  at: number;
}

const directorySync = ({ strapi }: { strapi: Core.Strapi }) => {
  /** This process, so it can skip its own announcements. */
  const nodeId = randomUUID();
  const engineService = () => getService(strapi, 'engine');
  let subscriber: ReturnType<ReturnType<typeof engineService>['redis']> | null = null;

  const channel = () => `${engineService().keyPrefix()}:directory:changed`;

  /** This node only (the engine's own invalidate, which does not announce). */
  const invalidateHere = () => {
    try {
      engineService().get().invalidate();
    } catch {
      // The engine is not running (stopped, or not started yet): there is no snapshot to drop.
    }
  };

  const warn = (message: string) => strapi.log.warn(`[multi-smtp] directory sync: ${message}`);

  return {
    channel,

    /** Subscribes this node (bootstrap, after the engine started). */
    async start() {
      if (subscriber) return;
      // A connection of its own: a subscribed connection can run no other command.
      const connection = engineService().redis().duplicate();
      subscriber = connection;
      const name = channel();
      let connectedOnce = false;
      connection.on('ready', () => {
        // After a reconnection (ioredis subscribes again by itself), announcements of the gap are lost: reload.
        if (connectedOnce) invalidateHere();
        connectedOnce = true;
      });
      connection.on('error', (error: Error) => warn(error.message));
      connection.on('message', (from: string, payload: string) => {
        if (from !== name) return;
        let announcement: Partial<Announcement> = {};
        try {
          announcement = JSON.parse(payload) as Partial<Announcement>;
        } catch {
          // Not ours or garbled: reloading once costs little.
        }
        if (announcement.from === nodeId) return;
        invalidateHere();
      });
      await connection.subscribe(name);
    },

    /** Tells the other nodes to reload. Never throws: the 5 s backstop covers a failed publish. */
    async publish(): Promise<void> {
      let redis: ReturnType<ReturnType<typeof engineService>['redis']>;
      try {
        redis = engineService().redis();
      } catch {
        return; // the engine is not running (boot, shutdown): nothing to announce from here
      }
      try {
        const message: Announcement = { from: nodeId, at: Date.now() };
        await redis.publish(channel(), JSON.stringify(message));
      } catch (error) {
        warn(`announcing a change failed: ${(error as Error).message}`);
      }
    },

    /**
     * A server or group row changed (database lifecycles). This node drops its snapshot at once; once
     * the transaction that made the change commits, it drops it again and tells the others (through
     * the engine service's invalidate, which announces).
     */
    changed() {
      invalidateHere();
      // Not awaited: the lifecycle runs inside the writer's transaction, which must finish first.
      // Nested in it, the callback waits for its commit; outside any, it runs at once.
      Promise.resolve(
        strapi.db.transaction(async ({ onCommit }) => {
          onCommit(() => engineService().invalidate());
        })
      ).catch((error: Error) => {
        warn(`waiting for the commit failed (${error.message}); announcing now`);
        engineService().invalidate();
      });
    },

    async stop() {
      const connection = subscriber;
      subscriber = null;
      if (!connection) return;
      await connection.quit().catch(() => connection.disconnect());
    },
  };
};

export type DirectorySyncService = ReturnType<typeof directorySync>;
export default directorySync;
