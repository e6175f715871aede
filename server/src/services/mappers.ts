import { DEFAULT_STICKY_MINUTES, type GroupMember, type SmtpGroup } from '../../../shared/contracts/groups';
import type { GroupRef, SmtpServer } from '../../../shared/contracts/servers';
import type { GroupEntity, GroupRefEntity, ServerEntity } from '../repositories/types';

/**
 * Entity -> API shape. Each field is named on purpose (no spreading), so a private column such as
 * passwordEncrypted can never leak into a response.
 */
export const toGroupRef = (group: GroupRefEntity | null | undefined): GroupRef | null =>
  group ? { documentId: group.documentId, name: group.name, slug: group.slug } : null;

export const toServerDto = (server: ServerEntity): SmtpServer => ({
  documentId: server.documentId,
  name: server.name,
  host: server.host,
  port: server.port,
  security: server.security,
  tlsRejectUnauthorized: server.tlsRejectUnauthorized ?? true,
  username: server.username ?? null,
  hasPassword: Boolean(server.passwordEncrypted),
  fromAddress: server.fromAddress ?? null,
  fromName: server.fromName ?? null,
  allowedFromDomains: server.allowedFromDomains ?? [],
  localAddress: server.localAddress ?? null,
  destinationLimits: server.destinationLimits ?? null,
  maxConnections: server.maxConnections ?? 5,
  ratePerSecond: server.ratePerSecond ?? null,
  hourlyLimit: server.hourlyLimit ?? null,
  dailyLimit: server.dailyLimit ?? null,
  weight: server.weight ?? 1,
  priority: server.priority ?? 0,
  enabled: server.enabled ?? true,
  group: toGroupRef(server.group),
  warmup: server.warmup ?? null,
  notes: server.notes ?? null,
  imap: server.imap
    ? {
        host: server.imap.host,
        port: server.imap.port,
        security: server.imap.security,
        username: server.imap.username,
        hasPassword: Boolean(server.imapPasswordEncrypted),
        mailbox: server.imap.mailbox,
        processed: 'moveTo' in server.imap.processed ? { moveTo: server.imap.processed.moveTo } : { flag: server.imap.processed.flag },
      }
    : null,
  createdAt: server.createdAt,
  updatedAt: server.updatedAt,
});

/**
 * Each member's share of the group's traffic by weight, in percent (0.1 precision). Disabled servers
 * and weight 0 get 0 %: the weighted router never picks them.
 */
export const weightShares = (servers: Pick<ServerEntity, 'enabled' | 'weight'>[]): number[] => {
  const counted = servers.map((server) => ((server.enabled ?? true) ? Math.max(server.weight ?? 1, 0) : 0));
  const total = counted.reduce((sum, weight) => sum + weight, 0);
  return counted.map((weight) => (total === 0 ? 0 : Math.round((weight / total) * 1000) / 10));
};

export const toGroupDto = (group: GroupEntity): SmtpGroup => {
  const servers = group.servers ?? [];
  const shares = weightShares(servers);
  const members: GroupMember[] = servers.map((server, index) => ({
    documentId: server.documentId,
    name: server.name,
    host: server.host,
    port: server.port,
    enabled: server.enabled ?? true,
    weight: server.weight ?? 1,
    priority: server.priority ?? 0,
    sharePct: shares[index] ?? 0,
  }));
  return {
    documentId: group.documentId,
    name: group.name,
    slug: group.slug,
    description: group.description ?? null,
    strategy: group.strategy,
    fallbackGroup: toGroupRef(group.fallbackGroup),
    isDefault: group.isDefault ?? false,
    rotation: group.rotation ?? 'message',
    stickyMinutes: group.stickyMinutes ?? DEFAULT_STICKY_MINUTES,
    servers: members,
    createdAt: group.createdAt,
    updatedAt: group.updatedAt,
  };
};
