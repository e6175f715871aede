import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import { suspendServerSchema, type GroupStatus, type ServerStatus } from '../../../shared/contracts/status';
import { warmupCap } from '../engine/warmup';
import { createGroupRepository } from '../repositories/groups';
import { createServerRepository } from '../repositories/servers';
import type { ServerEntity } from '../repositories/types';
import { getService } from '../utils/get-service';
import { parseInput } from '../utils/validation';

/** The admin's live view of the engine: health, quota use, warm-up, recent traffic, queue depth. */
const status = ({ strapi }: { strapi: Core.Strapi }) => {
  const engine = () => getService(strapi, 'engine').get();

  const serverStatus = async (server: ServerEntity, now: number): Promise<ServerStatus> => {
    const { timeZone } = getService(strapi, 'runtime').config();
    const warmup = server.warmup?.enabled ? warmupCap(server.warmup, server.dailyLimit ?? null, now, timeZone) : null;
    const dayCap = warmup ? warmup.cap : (server.dailyLimit ?? null);
    const limits = {
      perSecond: server.ratePerSecond ?? null,
      perHour: server.hourlyLimit ?? null,
      perDay: dayCap,
      maxConnections: server.maxConnections ?? 5,
    };
    const [usage, health, lastHour, alerts, destinations] = await Promise.all([
      engine().quota.usage(server.documentId, limits, now),
      engine().health.get(server.documentId, now),
      engine().lastHourStats(server.documentId),
      getService(strapi, 'alerts').activeByServer([server.documentId]),
      engine().destinations.usageOf({ id: server.documentId, destinationLimits: server.destinationLimits }, now),
    ]);
    return {
      documentId: server.documentId,
      name: server.name,
      enabled: server.enabled ?? true,
      health: {
        state: health.state,
        suspendedUntil: health.suspendedUntil,
        reason: health.reason,
        source: health.source,
        consecutiveFailures: health.consecutiveFailures,
        throttle: health.throttle,
        ...(health.weightFactor !== undefined ? { weightFactor: health.weightFactor } : {}),
      },
      quota: {
        // null when a slot is free now: a read time would differ from node to node and read to read.
        second: { cap: limits.perSecond, nextSlotAt: usage.nextSlotAt > now ? usage.nextSlotAt : null },
        hour: { used: usage.hour, cap: limits.perHour, resetsAt: usage.hourResetsAt },
        day: { used: usage.day, cap: dayCap, resetsAt: usage.dayResetsAt },
        connections: { used: usage.connections, cap: limits.maxConnections },
      },
      warmup: warmup ? { day: warmup.day, cap: warmup.cap, done: warmup.done } : null,
      lastHour,
      alerts: alerts.get(server.documentId) ?? [],
      destinations,
    };
  };

  const requireServer = async (documentId: string) => {
    const server = await createServerRepository(strapi).findOne(documentId);
    if (!server) throw new errors.NotFoundError(`SMTP server ${documentId} not found`);
    return server;
  };

  return {
    async overview() {
      const now = engine().now();
      const [servers, groups, depth] = await Promise.all([
        createServerRepository(strapi).findAll(),
        createGroupRepository(strapi).findAll(),
        engine().queueDepth(),
      ]);
      const serverStatuses = await Promise.all(servers.map((server) => serverStatus(server, now)));
      const groupStatuses: GroupStatus[] = await Promise.all(
        groups.map(async (group) => ({
          documentId: group.documentId,
          name: group.name,
          slug: group.slug,
          depth: depth[group.documentId] ?? 0,
          waiting: await engine().groupWait(group.documentId),
        }))
      );
      return { servers: serverStatuses, groups: groupStatuses, pinnedDepth: depth.pinned ?? 0, at: now };
    },

    async server(documentId: string): Promise<ServerStatus> {
      return serverStatus(await requireServer(documentId), engine().now());
    },

    /** Takes a server out of rotation for a while, by hand. */
    async suspend(documentId: string, input: unknown): Promise<ServerStatus> {
      const { minutes, reason } = parseInput(suspendServerSchema, input);
      const server = await requireServer(documentId);
      await engine().health.suspend(documentId, engine().now() + minutes * 60_000, reason, 'manual');
      getService(strapi, 'engine').invalidate();
      return serverStatus(server, engine().now());
    },

    /** Lifts any suspension (breaker, rule or manual) and throttle at once. */
    async resume(documentId: string): Promise<ServerStatus> {
      const server = await requireServer(documentId);
      await engine().health.resume(documentId);
      getService(strapi, 'engine').invalidate();
      // Mail waiting for it (or for its group's other suspended servers) goes now, not at its next look.
      await engine().wakeSuspended();
      return serverStatus(server, engine().now());
    },
  };
};

export type StatusService = ReturnType<typeof status>;
export default status;
