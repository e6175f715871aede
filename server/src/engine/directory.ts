import type { GroupStrategy } from '../../../shared/contracts/groups';
import type { WarmupPlan } from '../../../shared/contracts/servers';
import type { SmtpEndpoint } from './smtp-probe';

/**
 * What the engine knows of the configured servers and groups: a snapshot loaded from the database
 * (by the Strapi layer) and refreshed every few seconds or when an admin changes something, so the
 * hot path never reads the database.
 */
export interface ServerConfig {
  id: string;
  name: string;
  groupId: string | null;
  weight: number;
  priority: number;
  enabled: boolean;
  ratePerSecond: number | null;
  hourlyLimit: number | null;
  dailyLimit: number | null;
  maxConnections: number;
  warmup: WarmupPlan | null;
  fromAddress: string | null;
  fromName: string | null;
  endpoint: SmtpEndpoint;
  /** Changes whenever the server's settings change (its updatedAt): a new version gets a new connection pool. */
  version: string;
}

export interface GroupConfig {
  id: string;
  slug: string;
  name: string;
  strategy: GroupStrategy;
  fallbackGroupId: string | null;
  isDefault: boolean;
  /** Member server ids in a stable order. */
  serverIds: string[];
}

export interface Directory {
  servers: Map<string, ServerConfig>;
  groups: Map<string, GroupConfig>;
  groupsBySlug: Map<string, GroupConfig>;
  /** The group for messages that name none: the configured slug, else the one marked default. */
  defaultGroupId: string | null;
}

export interface DirectorySource {
  load(): Promise<{ servers: ServerConfig[]; groups: GroupConfig[] }>;
}

export const buildDirectory = (
  servers: ServerConfig[],
  groups: GroupConfig[],
  defaultGroupSlug?: string
): Directory => {
  const bySlug = new Map(groups.map((group) => [group.slug, group]));
  const configured = defaultGroupSlug ? bySlug.get(defaultGroupSlug) : undefined;
  return {
    servers: new Map(servers.map((server) => [server.id, server])),
    groups: new Map(groups.map((group) => [group.id, group])),
    groupsBySlug: bySlug,
    defaultGroupId: configured?.id ?? groups.find((group) => group.isDefault)?.id ?? null,
  };
};

/**
 * Keeps the latest directory in memory. `current()` reloads when the snapshot is older than
 * `maxAgeMs` (so other nodes' changes arrive within seconds) or after `invalidate()` (this node's).
 * Concurrent callers share one load.
 */
export const createDirectoryCache = (source: DirectorySource, options: { maxAgeMs: number; defaultGroupSlug?: string; clock?: () => number }) => {
  const clock = options.clock ?? Date.now;
  let snapshot: Directory | null = null;
  let loadedAt = 0;
  let loading: Promise<Directory> | null = null;

  const reload = () => {
    loading ??= source
      .load()
      .then(({ servers, groups }) => {
        snapshot = buildDirectory(servers, groups, options.defaultGroupSlug);
        loadedAt = clock();
        return snapshot;
      })
      .finally(() => {
        loading = null;
      });
    return loading;
  };

  return {
    async current(): Promise<Directory> {
      if (snapshot && clock() - loadedAt < options.maxAgeMs) return snapshot;
      // A stale snapshot still serves while a reload runs, unless there is none yet.
      if (snapshot && loading) return snapshot;
      return reload();
    },
    invalidate() {
      loadedAt = 0;
    },
    async refresh() {
      return reload();
    },
  };
};

export type DirectoryCache = ReturnType<typeof createDirectoryCache>;
