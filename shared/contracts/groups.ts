import { z } from 'zod';

import { paginationQuery, requiredLine, singleLine } from './common';
import type { GroupRef } from './servers';

export const GROUP_STRATEGIES = ['round-robin', 'weighted', 'priority', 'adaptive'] as const;
export type GroupStrategy = (typeof GROUP_STRATEGIES)[number];

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
};

export const createGroupSchema = z.strictObject({
  ...groupFields,
  strategy: groupFields.strategy.default('weighted'),
  fallbackGroup: groupFields.fallbackGroup.default(null),
  description: groupFields.description.default(null),
  isDefault: groupFields.isDefault.default(false),
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
  servers: GroupMember[];
  createdAt: string;
  updatedAt: string;
}
