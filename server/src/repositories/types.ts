import type { GroupStrategy, RotationMode } from '../../../shared/contracts/groups';
import type { DestinationLimitsInput } from '../../../shared/contracts/destinations';
import type { ImapMailboxView, SecurityMode, WarmupPlan } from '../../../shared/contracts/servers';

/** A group as the database holds it (only the fields a reference needs). */
export interface GroupRefEntity {
  id: number;
  documentId: string;
  name: string;
  slug: string;
}

/** A server row as the document service returns it, including the private encrypted password. */
export interface ServerEntity {
  id: number;
  documentId: string;
  name: string;
  host: string;
  port: number;
  security: SecurityMode;
  tlsRejectUnauthorized: boolean | null;
  username: string | null;
  passwordEncrypted: string | null;
  fromAddress: string | null;
  fromName: string | null;
  allowedFromDomains: string[] | null;
  localAddress: string | null;
  destinationLimits: DestinationLimitsInput | null;
  maxConnections: number | null;
  ratePerSecond: number | null;
  hourlyLimit: number | null;
  dailyLimit: number | null;
  weight: number | null;
  priority: number | null;
  enabled: boolean | null;
  group: GroupRefEntity | null;
  warmup: WarmupPlan | null;
  notes: string | null;
  /** The bounce mailbox's settings, without its password (imapPasswordEncrypted). */
  imap: ImapMailboxEntity | null;
  imapPasswordEncrypted: string | null;
  createdAt: string;
  updatedAt: string;
}

export type ImapMailboxEntity = Omit<ImapMailboxView, 'hasPassword'>;

export interface GroupEntity extends GroupRefEntity {
  description: string | null;
  strategy: GroupStrategy;
  isDefault: boolean | null;
  rotation: RotationMode | null;
  stickyMinutes: number | null;
  fallbackGroup: GroupRefEntity | null;
  servers: ServerEntity[];
  createdAt: string;
  updatedAt: string;
}

export interface Page<T> {
  results: T[];
  total: number;
}
