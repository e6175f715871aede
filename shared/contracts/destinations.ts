import { z } from 'zod';

/**
 * Per-destination shaping (issue 12, item 3): limits on what one SMTP server sends toward one
 * receiving provider (gmail, microsoft, yahoo...) or one recipient domain. Used by the plugin config
 * (`destinations.limits`) and by each server's `destinationLimits` override; the engine applies them
 * (server/src/engine/destination-limits.ts).
 *
 * Every field may be left out (inherit: the server's override takes the config's, which takes the
 * shipped default) or null (no limit, whatever is inherited).
 */
export const destinationLimitSchema = z.strictObject({
  /** Sends in flight at once from this server toward the destination, across all processes. */
  connections: z
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(10000, { error: 'must be at most 10000' })
    .nullable()
    .optional(),
  /** Paced like a server's rate: 2/s = one send every 500 ms, no bursts. May be fractional. */
  perSecond: z
    .number({ error: 'must be a number' })
    .gt(0, { error: 'must be more than 0' })
    .max(100000, { error: 'must be at most 100000' })
    .nullable()
    .optional(),
  /** Sends per clock minute. 0 holds all mail to the destination. */
  perMinute: z.int({ error: 'must be a whole number' }).min(0, { error: 'must not be negative' }).nullable().optional(),
  /** Sends per clock hour (in the plugin's time zone, like server quotas). */
  perHour: z.int({ error: 'must be a whole number' }).min(0, { error: 'must not be negative' }).nullable().optional(),
});

export type DestinationLimitInput = z.infer<typeof destinationLimitSchema>;

/** A provider key (`gmail`), a recipient domain (`example.org`), or `default` for every other destination. */
export const destinationKeySchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(253, { error: 'must be at most 253 characters' })
  .regex(/^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/, { error: 'must be a provider key (gmail) or a domain (example.org)' });

/** Limits by destination key. */
export const destinationLimitsSchema = z.record(destinationKeySchema, destinationLimitSchema, {
  error: (issue) =>
    issue.code === 'invalid_key'
      ? `"${String(issue.key ?? '')}" must be a provider key (gmail) or a domain (example.org)`
      : undefined,
});

export type DestinationLimitsInput = z.infer<typeof destinationLimitsSchema>;
