import addressparser from 'nodemailer/lib/addressparser';
import { z } from 'zod';

/**
 * The message a developer hands to `send()`: what nodemailer accepts, validated before it is
 * queued, so a bad address or a header injection is refused with a clear error and never sent.
 */

const CRLF = /[\r\n]/;
const simpleEmail = z.email();
const MAX_ADDRESS_LENGTH = 254;
const MAX_LOCAL_PART_LENGTH = 64;
/** A display name longer than a header line (RFC 5322: 998 characters) is no one's name. */
const MAX_NAME_LENGTH = 998;

export interface Address {
  name: string;
  address: string;
}

/** Reads "a@b.c", "Name <a@b.c>", "a@b.c, Other <d@e.f>" or { name, address } into addresses. */
const toAddresses = (value: unknown, ctx: z.RefinementCtx): Address[] => {
  const items = Array.isArray(value) ? value : [value];
  const result: Address[] = [];
  for (const item of items) {
    if (item && typeof item === 'object' && 'address' in item) {
      const { name = '', address } = item as { name?: unknown; address?: unknown };
      if (typeof address !== 'string' || typeof name !== 'string') {
        ctx.addIssue({ code: 'custom', message: 'must have a string address (and an optional string name)' });
        continue;
      }
      result.push({ name, address });
      continue;
    }
    if (typeof item !== 'string') {
      ctx.addIssue({ code: 'custom', message: 'must be an address string or { name, address }' });
      continue;
    }
    if (CRLF.test(item)) {
      ctx.addIssue({ code: 'custom', message: 'must not contain a line break (CR or LF)' });
      continue;
    }
    for (const parsed of addressparser(item, { flatten: true }) as Address[]) {
      result.push({ name: parsed.name ?? '', address: parsed.address ?? '' });
    }
  }
  for (const { name, address } of result) {
    if (CRLF.test(name) || CRLF.test(address)) {
      ctx.addIssue({ code: 'custom', message: 'must not contain a line break (CR or LF)' });
    } else if (address.length > MAX_ADDRESS_LENGTH || address.lastIndexOf('@') > MAX_LOCAL_PART_LENGTH) {
      // RFC 5321 4.5.3.1: a path of at most 256 octets (254 for the address), a local part of at most 64.
      ctx.addIssue({ code: 'custom', message: `"${address.slice(0, 80)}..." is too long for an email address (at most ${MAX_ADDRESS_LENGTH} characters, ${MAX_LOCAL_PART_LENGTH} before the @)` });
    } else if (name.length > MAX_NAME_LENGTH) {
      ctx.addIssue({ code: 'custom', message: `a display name must be at most ${MAX_NAME_LENGTH} characters` });
    } else if (!simpleEmail.safeParse(address).success) {
      ctx.addIssue({ code: 'custom', message: `"${address || name}" is not a valid email address` });
    }
  }
  return result;
};

const addressList = (max: number) =>
  z.unknown().transform((value, ctx) => {
    const addresses = toAddresses(value, ctx);
    if (addresses.length > max) ctx.addIssue({ code: 'custom', message: `must have at most ${max} addresses` });
    return addresses;
  });

const singleAddress = z.unknown().transform((value, ctx) => {
  const addresses = toAddresses(value, ctx);
  if (addresses.length !== 1) {
    if (addresses.length > 1) ctx.addIssue({ code: 'custom', message: 'must be exactly one address' });
    return z.NEVER;
  }
  return addresses[0]!;
});

/** Header names as RFC 5322 allows them; values on one line. */
const headerName = /^[!-9;-~]+$/;
const RESERVED_HEADERS = new Set(['from', 'to', 'cc', 'bcc', 'subject', 'reply-to', 'message-id', 'date', 'content-type', 'mime-version', 'content-transfer-encoding']);

const headersSchema = z
  .record(z.string(), z.union([z.string(), z.number()]).transform(String))
  .superRefine((headers, ctx) => {
    for (const [name, value] of Object.entries(headers)) {
      if (!headerName.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'is not a valid header name' });
      else if (RESERVED_HEADERS.has(name.toLowerCase()))
        ctx.addIssue({ code: 'custom', path: [name], message: 'is set from the message fields, not as a header' });
      if (CRLF.test(value)) ctx.addIssue({ code: 'custom', path: [name], message: 'must not contain a line break (CR or LF)' });
    }
  });

/** Attachments carry their content inline: no `path` or `href`, which would read local files or URLs. */
const attachmentSchema = z.strictObject({
  filename: z
    .string()
    .max(255)
    .refine((value) => !CRLF.test(value), { error: 'must not contain a line break (CR or LF)' }),
  content: z.string({ error: 'must be a string (use encoding: base64 for binary)' }),
  encoding: z.enum(['base64', 'utf8', 'utf-8', 'hex']).optional(),
  contentType: z
    .string()
    .max(255)
    .refine((value) => !CRLF.test(value), { error: 'must not contain a line break (CR or LF)' })
    .optional(),
  cid: z
    .string()
    .max(255)
    .refine((value) => !CRLF.test(value), { error: 'must not contain a line break (CR or LF)' })
    .optional(),
}, {
  error: (issue) =>
    issue.code === 'unrecognized_keys'
      ? `${issue.keys.join(', ')}: not allowed (an attachment carries its content inline, never a path or URL)`
      : undefined,
});

export const MAX_MESSAGE_BYTES = 25 * 1024 * 1024;

export const outgoingMessageSchema = z
  .strictObject({
    from: singleAddress.optional(),
    to: addressList(1000).optional(),
    cc: addressList(1000).optional(),
    bcc: addressList(1000).optional(),
    replyTo: addressList(10).optional(),
    subject: z
      .string()
      .max(998, { error: 'must be at most 998 characters' })
      .refine((value) => !CRLF.test(value), { error: 'must not contain a line break (CR or LF)' })
      .default(''),
    text: z.string().optional(),
    html: z.string().optional(),
    headers: headersSchema.optional(),
    attachments: z.array(attachmentSchema).max(100).optional(),
  })
  .superRefine((message, ctx) => {
    const recipients = (message.to?.length ?? 0) + (message.cc?.length ?? 0) + (message.bcc?.length ?? 0);
    if (recipients === 0) ctx.addIssue({ code: 'custom', path: ['to'], message: 'needs at least one recipient (to, cc or bcc)' });
    if (message.text === undefined && message.html === undefined && !message.attachments?.length) {
      ctx.addIssue({ code: 'custom', path: ['text'], message: 'needs a text or html body' });
    }
    const size =
      (message.text?.length ?? 0) +
      (message.html?.length ?? 0) +
      (message.attachments ?? []).reduce((sum, attachment) => sum + attachment.content.length, 0);
    if (size > MAX_MESSAGE_BYTES) ctx.addIssue({ code: 'custom', path: [], message: `is larger than ${MAX_MESSAGE_BYTES} bytes` });
  });

export type OutgoingMessageInput = z.input<typeof outgoingMessageSchema>;
export type OutgoingMessage = z.output<typeof outgoingMessageSchema>;

/** Every envelope recipient of a message, in order, without repeats. */
export const recipientsOf = (message: OutgoingMessage): string[] => [
  ...new Set([...(message.to ?? []), ...(message.cc ?? []), ...(message.bcc ?? [])].map((entry) => entry.address.toLowerCase())),
];
