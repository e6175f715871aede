import { z } from 'zod';

import { destinationLimitsSchema, type DestinationLimitsInput } from './destinations';
import {
  optionalEmailAddress,
  optionalLimit,
  optionalLine,
  paginationQuery,
  requiredLine,
  singleLine,
} from './common';

export const SECURITY_MODES = ['none', 'starttls', 'tls'] as const;
export type SecurityMode = (typeof SECURITY_MODES)[number];

export const WARMUP_PRESETS = ['standard', 'custom'] as const;

/**
 * The published ramp most ESPs recommend for a new IP or domain: messages per day for the first
 * ten days, then doubling each day until the server's own daily limit.
 */
export const STANDARD_WARMUP_STEPS = [50, 100, 250, 500, 1000, 2500, 5000, 7500, 10000, 15000] as const;

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date as YYYY-MM-DD' })
  // Date.parse rolls 2030-02-31 over to March 3: the date must come back as it was written.
  .refine((value) => {
    const time = Date.parse(`${value}T00:00:00Z`);
    return !Number.isNaN(time) && new Date(time).toISOString().slice(0, 10) === value;
  }, { error: 'is not a real date' });

export const warmupPlanSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    preset: z.enum(WARMUP_PRESETS, { error: 'must be one of: standard, custom' }).default('standard'),
    customSteps: z
      .array(z.int({ error: 'must be a whole number' }).min(1, { error: 'must be at least 1' }))
      .max(365, { error: 'must have at most 365 days' })
      .default([]),
    startDate: isoDate,
  })
  .refine((plan) => plan.preset !== 'custom' || plan.customSteps.length > 0, {
    error: 'a custom plan needs at least one day',
    path: ['customSteps'],
  });

export type WarmupPlan = z.infer<typeof warmupPlanSchema>;

/** The mailbox polled when a bounce mailbox names none. */
export const IMAP_DEFAULT_MAILBOX = 'INBOX';
/** Where processed bounces and complaints go by default (created when missing). */
export const IMAP_DEFAULT_PROCESSED_FOLDER = 'Processed';
/** The IMAP keyword that marks a message the plugin has read (and, in flag mode, processed). */
export const IMAP_DEFAULT_KEYWORD = 'MultiSmtpProcessed';

/** An IMAP mailbox (folder) name: one line, no wildcards. */
const imapFolder = () =>
  requiredLine(200).refine((value) => !/[*%]|\p{Cc}/u.test(value), { error: 'must be a folder name without *, % or control characters' });

/**
 * What happens to a bounce or complaint once it is processed: moved to a folder, or flagged \Seen
 * plus a keyword. Exactly one of the two. Other messages (not bounces) only get the keyword and stay.
 */
export const imapProcessedSchema = z
  .strictObject({
    moveTo: imapFolder().optional(),
    flag: z
      .string()
      .regex(/^[A-Za-z0-9$_.-]{1,64}$/, { error: 'must be an IMAP keyword: 1-64 letters, digits, $, _, . or -' })
      .optional(),
  })
  .refine((value) => (value.moveTo === undefined) !== (value.flag === undefined), { error: 'give exactly one of moveTo or flag' })
  .transform((value): ImapProcessed => (value.moveTo !== undefined ? { moveTo: value.moveTo } : { flag: value.flag! }));

export type ImapProcessed = { moveTo: string } | { flag: string };

const hostName = () =>
  requiredLine(255).refine((value) => /^[A-Za-z0-9.\-:[\]_]+$/.test(value), {
    error: 'must be a host name or an IP address',
  });

const portNumber = () =>
  z
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be between 1 and 65535' })
    .max(65535, { error: 'must be between 1 and 65535' });

/** A From domain a server may send for: a domain name, or `*.` and a parent domain for its subdomains. */
const fromDomainEntry = () =>
  singleLine(255)
    .toLowerCase()
    .refine((value) => /^(\*\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/.test(value), {
      error: 'must be a domain (example.com) or a wildcard for its subdomains (*.example.com)',
    });

/** The source address of a server's connections: an IPv4 or IPv6 literal of this host. */
const localAddress = () =>
  optionalLine(45).refine((value) => value === null || z.ipv4().safeParse(value).success || z.ipv6().safeParse(value).success, {
    error: 'must be an IPv4 or IPv6 address',
  });

/** A new password; omit to keep the current one, null or '' to remove it. Write-only. */
const writeOnlyPassword = () =>
  z
    .string()
    .max(1024, { error: 'must be at most 1024 characters' })
    .refine((value) => !/[\r\n]/.test(value), { error: 'must not contain a line break (CR or LF)' })
    .nullable();

/**
 * A server's bounce mailbox (IMAP), polled for bounces and complaints (server/src/services/bounce-mailboxes.ts).
 * `port` defaults to 993 with tls, else 143. `password` is write-only like the SMTP password.
 */
export const imapMailboxSchema = z
  .strictObject({
    host: hostName(),
    port: portNumber().optional(),
    security: z.enum(SECURITY_MODES, { error: 'must be one of: none, starttls, tls' }).default('tls'),
    username: requiredLine(255),
    password: writeOnlyPassword().optional(),
    mailbox: imapFolder().default(IMAP_DEFAULT_MAILBOX),
    processed: imapProcessedSchema.default({ moveTo: IMAP_DEFAULT_PROCESSED_FOLDER }),
  })
  .transform((value) => ({ ...value, port: value.port ?? (value.security === 'tls' ? 993 : 143) }));

/** A bounce mailbox as responses show it: the password never, only whether one is stored. */
export interface ImapMailboxView {
  host: string;
  port: number;
  security: SecurityMode;
  username: string;
  hasPassword: boolean;
  mailbox: string;
  processed: ImapProcessed;
}

/** Every field an admin may set on a server. `password` is write-only. */
const serverFields = {
  name: requiredLine(100),
  host: hostName(),
  port: portNumber(),
  security: z.enum(SECURITY_MODES, { error: 'must be one of: none, starttls, tls' }),
  tlsRejectUnauthorized: z.boolean(),
  username: optionalLine(255),
  /** A new password; omit to keep the current one, null or '' to remove it. */
  password: writeOnlyPassword(),
  fromAddress: optionalEmailAddress(),
  fromName: optionalLine(200),
  /**
   * From domains this server may send for (engine/from-domains.ts); empty = any. A relay account
   * is often limited to its own domains, so mail From another one never goes through it.
   */
  allowedFromDomains: z
    .array(fromDomainEntry())
    .max(100, { error: 'must have at most 100 domains' })
    .nullish()
    .transform((value) => [...new Set(value ?? [])]),
  /** Source IP for its connections, on a host with several addresses; null = the system's choice. */
  localAddress: localAddress(),
  /** Its own limits per destination (provider key, domain or `default`) over the plugin config's; null = none. */
  destinationLimits: destinationLimitsSchema.nullish().transform((value) => value ?? null),
  maxConnections: z
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(1000, { error: 'must be at most 1000' }),
  ratePerSecond: z
    .number({ error: 'must be a number' })
    .positive({ error: 'must be more than 0' })
    .max(100000, { error: 'must be at most 100000' })
    .nullish()
    .transform((value) => value ?? null),
  hourlyLimit: optionalLimit(),
  dailyLimit: optionalLimit(),
  weight: z
    .int({ error: 'must be a whole number' })
    .min(0, { error: 'must not be negative' })
    .max(1000, { error: 'must be at most 1000' }),
  priority: z
    .int({ error: 'must be a whole number' })
    .min(0, { error: 'must not be negative' })
    .max(1000, { error: 'must be at most 1000' }),
  enabled: z.boolean(),
  /** The group's documentId, or null for none. */
  group: z.string().min(1).nullish().transform((value) => value ?? null),
  warmup: warmupPlanSchema.nullish().transform((value) => value ?? null),
  notes: z
    .string()
    .max(5000, { error: 'must be at most 5000 characters' })
    .nullish()
    .transform((value) => value ?? null),
  /** The server's bounce mailbox, or null for none. On update: omit to keep it, null to remove it. */
  imap: imapMailboxSchema.nullish().transform((value) => value ?? null),
};

export const createServerSchema = z.strictObject({
  ...serverFields,
  security: serverFields.security.default('starttls'),
  tlsRejectUnauthorized: serverFields.tlsRejectUnauthorized.default(true),
  username: serverFields.username.default(null),
  password: serverFields.password.optional(),
  fromAddress: serverFields.fromAddress.default(null),
  fromName: serverFields.fromName.default(null),
  maxConnections: serverFields.maxConnections.default(5),
  weight: serverFields.weight.default(1),
  priority: serverFields.priority.default(0),
  enabled: serverFields.enabled.default(true),
});

export const updateServerSchema = z.strictObject({
  ...Object.fromEntries(Object.entries(serverFields).map(([key, schema]) => [key, schema.optional()])),
} as { [K in keyof typeof serverFields]: z.ZodOptional<(typeof serverFields)[K]> });

export type CreateServerInput = z.input<typeof createServerSchema>;
export type CreateServerData = z.output<typeof createServerSchema>;
export type UpdateServerInput = z.input<typeof updateServerSchema>;
export type UpdateServerData = z.output<typeof updateServerSchema>;

export const SERVER_SORT_FIELDS = ['name', 'host', 'weight', 'priority', 'createdAt', 'updatedAt'] as const;

export const listServersQuerySchema = z.strictObject({
  ...paginationQuery,
  sort: z
    .string()
    .regex(new RegExp(`^(${SERVER_SORT_FIELDS.join('|')}):(asc|desc)$`), {
      error: `must be field:asc or field:desc, with field one of: ${SERVER_SORT_FIELDS.join(', ')}`,
    })
    .default('name:asc'),
  /** Matches name or host, case-insensitively. */
  q: singleLine(200).optional(),
  /** A group's documentId, or 'none' for servers in no group. */
  group: z.string().min(1).optional(),
  enabled: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
});

export type ListServersQuery = z.input<typeof listServersQuerySchema>;

export interface GroupRef {
  documentId: string;
  name: string;
  slug: string;
}

/** A server as every API response shows it: the password is never included, only whether one is set. */
export interface SmtpServer {
  documentId: string;
  name: string;
  host: string;
  port: number;
  security: SecurityMode;
  tlsRejectUnauthorized: boolean;
  username: string | null;
  hasPassword: boolean;
  fromAddress: string | null;
  fromName: string | null;
  /** From domains it may send for; empty = any. */
  allowedFromDomains: string[];
  /** Source IP of its connections, or null. */
  localAddress: string | null;
  /** Its own limits per destination over the plugin config's, or null. */
  destinationLimits: DestinationLimitsInput | null;
  maxConnections: number;
  ratePerSecond: number | null;
  hourlyLimit: number | null;
  dailyLimit: number | null;
  weight: number;
  priority: number;
  enabled: boolean;
  group: GroupRef | null;
  warmup: WarmupPlan | null;
  notes: string | null;
  /** The bounce mailbox polled for this server's bounces and complaints, or null. */
  imap: ImapMailboxView | null;
  createdAt: string;
  updatedAt: string;
}
