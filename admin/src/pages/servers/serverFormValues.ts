import {
  IMAP_DEFAULT_KEYWORD,
  IMAP_DEFAULT_MAILBOX,
  IMAP_DEFAULT_PROCESSED_FOLDER,
  STANDARD_WARMUP_STEPS,
  type CreateServerInput,
  type SecurityMode,
  type SmtpServer,
} from '../../../../shared/contracts/servers';
import type { DestinationLimitInput, DestinationLimitsInput } from '../../../../shared/contracts/destinations';

/** Value of the group select meaning "in no group" (the same word the list API uses). */
export const NO_GROUP = 'none';

/** 'none' = no warm-up plan; the other two are the plan's presets. */
export type WarmupChoice = 'none' | 'standard' | 'custom';

/**
 * What the server form edits. Text inputs hold strings and number inputs hold `number | undefined`
 * (empty); `toServerInput` turns this into the API's shape.
 */
export interface ServerFormValues {
  name: string;
  host: string;
  /** A string: the port is an identifier, typed like one (no "2,525" formatting). */
  port: string;
  security: SecurityMode;
  tlsRejectUnauthorized: boolean;
  username: string;
  /** A new password to set; empty = keep the current one. */
  password: string;
  /** The admin asked to remove the saved password. */
  removePassword: boolean;
  fromAddress: string;
  fromName: string;
  /** Allowed From domains, comma- or line-separated; empty = any. */
  allowedFromDomains: string;
  /** Source IP of its connections; empty = the system's choice. */
  localAddress: string;
  /** Limits per destination, one per line: "gmail: 5 conn, 600/min" (see parseDestinationLimits). */
  destinationLimits: string;
  maxConnections: number | undefined;
  /** Empty = unlimited, for the four limits. */
  ratePerSecond: number | undefined;
  hourlyLimit: number | undefined;
  dailyLimit: number | undefined;
  weight: number | undefined;
  priority: number | undefined;
  enabled: boolean;
  /** A group's documentId, or NO_GROUP. */
  group: string;
  warmup: WarmupChoice;
  warmupEnabled: boolean;
  /** Messages per day, comma-separated: "50, 100, 250". */
  warmupCustomSteps: string;
  /** YYYY-MM-DD. */
  warmupStartDate: string;
  notes: string;
  /** A bounce mailbox (IMAP) is set up (or being set up) for this server. */
  imapEnabled: boolean;
  /** The saved server has one (so turning it off removes it). */
  imapSaved: boolean;
  imapHost: string;
  imapPort: string;
  imapSecurity: SecurityMode;
  imapUsername: string;
  /** A new IMAP password; empty = keep the saved one. */
  imapPassword: string;
  imapMailbox: string;
  /** What happens to processed bounces: moved to imapMoveTo, or flagged with imapFlag. */
  imapProcessed: 'move' | 'flag';
  imapMoveTo: string;
  imapFlag: string;
}

/** The usual IMAP port of each security mode. */
export const IMAP_DEFAULT_PORTS: Record<SecurityMode, number> = { none: 143, starttls: 143, tls: 993 };

/** The usual port of each security mode, used to follow a change of mode. */
export const DEFAULT_PORTS: Record<SecurityMode, number> = { none: 25, starttls: 587, tls: 465 };

/** Today as YYYY-MM-DD in the admin's own time zone (toISOString would give the UTC date). */
const today = () => {
  const now = new Date();
  const twoDigits = (value: number) => String(value).padStart(2, '0');
  return `${now.getFullYear()}-${twoDigits(now.getMonth() + 1)}-${twoDigits(now.getDate())}`;
};

/** The form's starting values: the saved server's, or sensible defaults for a new one. */
/** Form values for a server; a new one starts in the default group, where routing will use it. */
export function toFormValues(server?: SmtpServer, defaultGroupId?: string): ServerFormValues {
  return {
    name: server?.name ?? '',
    host: server?.host ?? '',
    port: String(server?.port ?? DEFAULT_PORTS.starttls),
    security: server?.security ?? 'starttls',
    tlsRejectUnauthorized: server?.tlsRejectUnauthorized ?? true,
    username: server?.username ?? '',
    password: '',
    removePassword: false,
    fromAddress: server?.fromAddress ?? '',
    fromName: server?.fromName ?? '',
    allowedFromDomains: (server?.allowedFromDomains ?? []).join(', '),
    localAddress: server?.localAddress ?? '',
    destinationLimits: formatDestinationLimits(server?.destinationLimits ?? null),
    maxConnections: server?.maxConnections ?? 5,
    ratePerSecond: server?.ratePerSecond ?? undefined,
    hourlyLimit: server?.hourlyLimit ?? undefined,
    dailyLimit: server?.dailyLimit ?? undefined,
    weight: server?.weight ?? 1,
    priority: server?.priority ?? 0,
    enabled: server?.enabled ?? true,
    group: server ? (server.group?.documentId ?? NO_GROUP) : (defaultGroupId ?? NO_GROUP),
    warmup: server?.warmup?.preset ?? 'none',
    warmupEnabled: server?.warmup?.enabled ?? true,
    warmupCustomSteps: (server?.warmup?.customSteps ?? []).join(', '),
    warmupStartDate: server?.warmup?.startDate ?? today(),
    notes: server?.notes ?? '',
    imapEnabled: Boolean(server?.imap),
    imapSaved: Boolean(server?.imap),
    imapHost: server?.imap?.host ?? '',
    imapPort: String(server?.imap?.port ?? IMAP_DEFAULT_PORTS.tls),
    imapSecurity: server?.imap?.security ?? 'tls',
    imapUsername: server?.imap?.username ?? '',
    imapPassword: '',
    imapMailbox: server?.imap?.mailbox ?? IMAP_DEFAULT_MAILBOX,
    imapProcessed: server?.imap && 'flag' in server.imap.processed ? 'flag' : 'move',
    imapMoveTo: server?.imap && 'moveTo' in server.imap.processed ? server.imap.processed.moveTo : IMAP_DEFAULT_PROCESSED_FOLDER,
    imapFlag: server?.imap && 'flag' in server.imap.processed ? server.imap.processed.flag : IMAP_DEFAULT_KEYWORD,
  };
}

/** "50, 100,250" -> [50, 100, 250]. Anything that is not a number stays NaN for validation to report. */
export const parseSteps = (text: string) =>
  text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(Number);

/** The ramp the form will save, for the preview under the warm-up fields. */
export const warmupStepsPreview = (values: ServerFormValues): number[] =>
  values.warmup === 'custom' ? parseSteps(values.warmupCustomSteps) : [...STANDARD_WARMUP_STEPS];

/** "example.com, *.example.org" (commas, spaces or lines) -> ['example.com', '*.example.org']. */
export const parseDomains = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((part) => part.trim())
    .filter((part) => part !== '');

const orNull = (text: string) => (text.trim() === '' ? null : text.trim());

/**
 * The request body for create or update. The password is only sent when it changes: a new text
 * sets it, null removes it, and leaving it out keeps the saved one.
 */
export function toServerInput(values: ServerFormValues): CreateServerInput {
  const input: CreateServerInput = {
    name: values.name,
    host: values.host.trim(),
    port: values.port.trim() === '' ? Number.NaN : Number(values.port),
    security: values.security,
    tlsRejectUnauthorized: values.tlsRejectUnauthorized,
    username: orNull(values.username),
    fromAddress: orNull(values.fromAddress),
    fromName: orNull(values.fromName),
    allowedFromDomains: parseDomains(values.allowedFromDomains),
    localAddress: orNull(values.localAddress),
    destinationLimits: parseDestinationLimits(values.destinationLimits).limits,
    maxConnections: values.maxConnections,
    ratePerSecond: values.ratePerSecond ?? null,
    hourlyLimit: values.hourlyLimit ?? null,
    dailyLimit: values.dailyLimit ?? null,
    weight: values.weight,
    priority: values.priority,
    enabled: values.enabled,
    group: values.group === NO_GROUP ? null : values.group,
    warmup:
      values.warmup === 'none'
        ? null
        : {
            enabled: values.warmupEnabled,
            preset: values.warmup,
            customSteps: values.warmup === 'custom' ? parseSteps(values.warmupCustomSteps) : [],
            startDate: values.warmupStartDate,
          },
    notes: values.notes.trim() === '' ? null : values.notes,
  };

  if (values.removePassword) {
    input.password = null;
  } else if (values.password !== '') {
    input.password = values.password;
  }

  const imap = toImapInput(values);
  if (imap !== undefined) input.imap = imap;

  return input;
}

/** The bounce mailbox part: left out when there is none and was none; null removes a saved one; its password only when typed. */
function toImapInput(values: ServerFormValues): CreateServerInput['imap'] | undefined {
  if (!values.imapEnabled) return values.imapSaved ? null : undefined;
  return {
    host: values.imapHost.trim(),
    port: values.imapPort.trim() === '' ? undefined : Number(values.imapPort),
    security: values.imapSecurity,
    username: values.imapUsername.trim(),
    ...(values.imapPassword !== '' ? { password: values.imapPassword } : {}),
    mailbox: values.imapMailbox.trim() || IMAP_DEFAULT_MAILBOX,
    processed: values.imapProcessed === 'flag' ? { flag: values.imapFlag.trim() } : { moveTo: values.imapMoveTo.trim() },
  };
}

/**
 * Numbers the form needs but the schema would quietly default on create (or skip on update) when
 * left empty: say so instead of saving something the admin did not choose.
 */
export function missingRequiredNumbers(values: ServerFormValues, message: string): Record<string, string> {
  const required = {
    port: values.port.trim() === '' ? undefined : values.port,
    maxConnections: values.maxConnections,
    weight: values.weight,
    priority: values.priority,
  };
  return Object.fromEntries(
    Object.entries(required)
      .filter(([, value]) => value === undefined)
      .map(([key]) => [key, message]),
  );
}

/** The units of a destination limit line, and the field each sets. */
const DESTINATION_UNITS: Record<string, keyof DestinationLimitInput> = {
  conn: 'connections',
  connections: 'connections',
  '/s': 'perSecond',
  '/min': 'perMinute',
  '/h': 'perHour',
};
const UNIT_OF: Record<keyof DestinationLimitInput, string> = { connections: 'conn', perSecond: '/s', perMinute: '/min', perHour: '/h' };

/** A server's destination limits as form text: "gmail: 5 conn, 600/min" per line; "no conn" lifts an inherited limit. */
export function formatDestinationLimits(limits: DestinationLimitsInput | null): string {
  return Object.entries(limits ?? {})
    .map(([destination, entry]) => {
      const parts = (Object.keys(UNIT_OF) as (keyof DestinationLimitInput)[])
        .filter((field) => entry[field] !== undefined)
        .map((field) => (entry[field] === null ? `no ${UNIT_OF[field]}` : `${entry[field]}${UNIT_OF[field] === 'conn' ? ' conn' : UNIT_OF[field]}`));
      return `${destination}: ${parts.join(', ')}`;
    })
    .join('\n');
}

/**
 * Form text -> destination limits (null when empty). `problem` names the first line that cannot be
 * read; the numbers themselves are checked by the server's schema like every other field.
 */
export function parseDestinationLimits(text: string): { limits: DestinationLimitsInput | null; problem: string | null } {
  const limits: DestinationLimitsInput = {};
  const lines = text.split('\n').map((line) => line.trim());
  for (const [index, line] of lines.entries()) {
    if (line === '') continue;
    const match = /^([^:\s]+)\s*:\s*(.+)$/.exec(line);
    if (!match) return { limits: null, problem: `line ${index + 1}: write "destination: 5 conn, 600/min"` };
    const entry: DestinationLimitInput = {};
    for (const part of match[2]!.split(',').map((item) => item.trim())) {
      const item = /^(no|\d+(?:\.\d+)?)\s*(conn|connections|\/s|\/min|\/h)$/.exec(part);
      if (!item) return { limits: null, problem: `line ${index + 1}: "${part}" is not a limit (5 conn, 2/s, 600/min, 10000/h, or no conn)` };
      entry[DESTINATION_UNITS[item[2]!]!] = item[1] === 'no' ? null : Number(item[1]);
    }
    limits[match[1]!.toLowerCase()] = entry;
  }
  return { limits: Object.keys(limits).length > 0 ? limits : null, problem: null };
}

/** A destination limits line the form cannot read, keyed by its field (the schema checks the rest). */
export function destinationLimitsProblem(values: ServerFormValues): Record<string, string> {
  const { problem } = parseDestinationLimits(values.destinationLimits);
  return problem ? { destinationLimits: problem } : {};
}
