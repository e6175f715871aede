import { DEFAULT_STICKY_MINUTES, type CreateGroupInput, type GroupStrategy, type RotationMode, type SmtpGroup } from '../../../../shared/contracts/groups';

/** Value of the fallback select meaning "no fallback group". */
export const NO_FALLBACK = 'none';

/** What the group form edits; `toGroupInput` turns it into the API's shape. */
export interface GroupFormValues {
  name: string;
  slug: string;
  description: string;
  strategy: GroupStrategy;
  /** A group's documentId, or NO_FALLBACK. */
  fallbackGroup: string;
  isDefault: boolean;
  rotation: RotationMode;
  /** Empty = the default (60), for `sticky-domain` rotation. */
  stickyMinutes: number | undefined;
}

export function toFormValues(group?: SmtpGroup): GroupFormValues {
  return {
    name: group?.name ?? '',
    slug: group?.slug ?? '',
    description: group?.description ?? '',
    strategy: group?.strategy ?? 'weighted',
    fallbackGroup: group?.fallbackGroup?.documentId ?? NO_FALLBACK,
    isDefault: group?.isDefault ?? false,
    rotation: group?.rotation ?? 'message',
    stickyMinutes: group?.stickyMinutes ?? DEFAULT_STICKY_MINUTES,
  };
}

export function toGroupInput(values: GroupFormValues): CreateGroupInput {
  return {
    name: values.name,
    slug: values.slug.trim(),
    description: values.description.trim() === '' ? null : values.description,
    strategy: values.strategy,
    fallbackGroup: values.fallbackGroup === NO_FALLBACK ? null : values.fallbackGroup,
    isDefault: values.isDefault,
    rotation: values.rotation,
    stickyMinutes: values.stickyMinutes ?? DEFAULT_STICKY_MINUTES,
  };
}

/** "EU Marketing (2)" -> "eu-marketing-2": a slug suggestion in the format the API accepts. */
export const slugify = (text: string) =>
  text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '') // drop accents: "é" -> "e"
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 100);
