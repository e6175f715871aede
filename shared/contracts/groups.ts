import { z } from 'zod';

import { paginationQuery, requiredLine, singleLine } from './common';
import type { GroupRef } from './servers';

export const GROUP_STRATEGIES = ['round-robin', 'weighted', 'priority', 'adaptive'] as const;
export type GroupStrategy = (typeof GROUP_STRATEGIES)[number];

/**
 * How a group spreads mail over its servers (engine/rotation.ts): `message` = each message chosen
 * on its own; `batch` = every message of one batch job (a campaign batch, a sendBulk chunk) through
 * one server; `sticky-domain` = all mail to one recipient domain through one server for
 * `stickyMinutes`, so each receiving provider sees a steady sender.
 */
export const ROTATION_MODES = ['message', 'batch', 'sticky-domain'] as const;
export type RotationMode = (typeof ROTATION_MODES)[number];
export const DEFAULT_STICKY_MINUTES = 60;

const groupFields = {
  name: requiredLine(100),
  slug: singleLine(100).regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, {
    error: 'must be lowercase letters, digits and single dashes (e.g. eu-marketing)',
  }),
  description: z
    .string()
    .max(2000, { error: 'must be at most 2000 characters' })
    .nullish()
    .transform((value) => value ?? null),
  strategy: z.enum(GROUP_STRATEGIES, { error: `must be one of: ${GROUP_STRATEGIES.join(', ')}` }),
  /** documentId of the group to use when none of this group's servers is eligible. */
  fallbackGroup: z.string().min(1).nullish().transform((value) => value ?? null),
  isDefault: z.boolean(),
  rotation: z.enum(ROTATION_MODES, { error: `must be one of: ${ROTATION_MODES.join(', ')}` }),
  /** How long a recipient domain stays with its server in `sticky-domain` rotation. */
  stickyMinutes: z
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(10080, { error: 'must be at most 10080 (a week)' }),
};

export const createGroupSchema = z.strictObject({
  ...groupFields,
  strategy: groupFields.strategy.default('weighted'),
  fallbackGroup: groupFields.fallbackGroup.default(null),
  description: groupFields.description.default(null),
  isDefault: groupFields.isDefault.default(false),
  rotation: groupFields.rotation.default('message'),
  stickyMinutes: groupFields.stickyMinutes.default(DEFAULT_STICKY_MINUTES),
});

export const updateGroupSchema = z.strictObject({
  ...Object.fromEntries(Object.entries(groupFields).map(([key, schema]) => [key, schema.optional()])),
} as { [K in keyof typeof groupFields]: z.ZodOptional<(typeof groupFields)[K]> });

export type CreateGroupInput = z.input<typeof createGroupSchema>;
export type CreateGroupData = z.output<typeof createGroupSchema>;
export type UpdateGroupInput = z.input<typeof updateGroupSchema>;
export type UpdateGroupData = z.output<typeof updateGroupSchema>;

export const GROUP_SORT_FIELDS = ['name', 'slug', 'createdAt', 'updatedAt'] as const;

export const listGroupsQuerySchema = z.strictObject({
  ...paginationQuery,
  sort: z
    .string()
    .regex(new RegExp(`^(${GROUP_SORT_FIELDS.join('|')}):(asc|desc)$`), {
      error: `must be field:asc or field:desc, with field one of: ${GROUP_SORT_FIELDS.join(', ')}`,
    })
    .default('name:asc'),
  q: singleLine(200).optional(),
});

export type ListGroupsQuery = z.input<typeof listGroupsQuerySchema>;

/** A member server as a group shows it, with its share of the group's weighted traffic. */
export interface GroupMember {
  documentId: string;
  name: string;
  host: string;
  port: number;
  enabled: boolean;
  weight: number;
  priority: number;
  /** Percentage of the group's weighted traffic (enabled servers only), rounded to 0.1. */
  sharePct: number;
}

export interface SmtpGroup {
  documentId: string;
  name: string;
  slug: string;
  description: string | null;
  strategy: GroupStrategy;
  fallbackGroup: GroupRef | null;
  isDefault: boolean;
  rotation: RotationMode;
  stickyMinutes: number;
  servers: GroupMember[];
  createdAt: string;
  updatedAt: string;
}
