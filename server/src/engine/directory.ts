import type { GroupStrategy, RotationMode } from '../../../shared/contracts/groups';
import type { DestinationLimitsInput } from '../../../shared/contracts/destinations';
import type { WarmupPlan } from '../../../shared/contracts/servers';
import { compileRules, type CompiledRule, type RoutingRule } from './routing-rules';
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
  /** From domains it may send for (from-domains.ts); empty = any. */
  allowedFromDomains: string[];
  /** Its own limits per destination over the config's (destination-limits.ts); null or absent = none. */
  destinationLimits?: DestinationLimitsInput | null;
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
  /** How its servers take turns (rotation.ts); `message` when not set. */
  rotation: RotationMode;
  /** How long a recipient domain keeps its server in `sticky-domain` rotation. */
  stickyMinutes: number;
  /** Member server ids in a stable order. */
  serverIds: string[];
}

export interface Directory {
  servers: Map<string, ServerConfig>;
  groups: Map<string, GroupConfig>;
  groupsBySlug: Map<string, GroupConfig>;
  /** The group for messages that name none: the configured slug, else the one marked default. */
  defaultGroupId: string | null;
  /** The enabled routing rules in order, compiled once per load (engine/routing-rules.ts). */
  rules: CompiledRule[];
}

export interface DirectorySource {
  /** Routing rules load with the servers and groups, so an edit reaches every node the same way. */
  load(): Promise<{ servers: ServerConfig[]; groups: GroupConfig[]; rules?: RoutingRule[] }>;
}

export const buildDirectory = (
  servers: ServerConfig[],
  groups: GroupConfig[],
  defaultGroupSlug?: string,
  rules: readonly RoutingRule[] = []
): Directory => {
  const bySlug = new Map(groups.map((group) => [group.slug, group]));
  const configured = defaultGroupSlug ? bySlug.get(defaultGroupSlug) : undefined;
  return {
    servers: new Map(servers.map((server) => [server.id, server])),
    groups: new Map(groups.map((group) => [group.id, group])),
    groupsBySlug: bySlug,
    defaultGroupId: configured?.id ?? groups.find((group) => group.isDefault)?.id ?? null,
    rules: compileRules(rules),
  };
};

/**
 * Keeps the latest directory in memory. `current()` reloads when the snapshot is older than
 * `maxAgeMs` (so other nodes' changes arrive within seconds) or after `invalidate()` (this node's).
 * Concurrent callers share one load. An aged snapshot still serves while its reload runs, but after
 * `invalidate()` callers wait for a load that began after it: a load already running may have read
 * the database before the change (a group made a moment ago would be unknown to the next message).
 */
export const createDirectoryCache = (source: DirectorySource, options: { maxAgeMs: number; defaultGroupSlug?: string; clock?: () => number }) => {
  const clock = options.clock ?? Date.now;
  let snapshot: Directory | null = null;
  let loadedAt = 0;
  /** Bumped by invalidate(); a snapshot is only as current as the generation its load began in. */
  let generation = 0;
  let snapshotGeneration = -1;
  let loading: { promise: Promise<Directory>; generation: number } | null = null;

  const reload = (): Promise<Directory> => {
    if (loading && loading.generation === generation) return loading.promise;
    const started = generation;
    // Loads run one after the other, so a slow older load never overwrites a newer snapshot.
    const load = loading ? loading.promise.catch(() => undefined).then(() => source.load()) : source.load();
    const promise: Promise<Directory> = load
      .then(({ servers, groups, rules }) => {
        snapshot = buildDirectory(servers, groups, options.defaultGroupSlug, rules);
        snapshotGeneration = started;
        loadedAt = clock();
        return snapshot;
      })
      .finally(() => {
        if (loading?.promise === promise) loading = null;
      });
    loading = { promise, generation: started };
    return promise;
  };

  return {
    async current(): Promise<Directory> {
      const upToDate = snapshot !== null && snapshotGeneration === generation;
      if (upToDate && clock() - loadedAt < options.maxAgeMs) return snapshot!;
      // Only aged (nothing changed on this node since it was loaded): it serves while the reload runs.
      if (upToDate && loading) return snapshot!;
      return reload();
    },
    invalidate() {
      generation += 1;
    },
    async refresh() {
      generation += 1;
      return reload();
    },
  };
};

export type DirectoryCache = ReturnType<typeof createDirectoryCache>;
