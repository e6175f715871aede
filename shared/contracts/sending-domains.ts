import { z } from 'zod';

import { paginationQuery, singleLine, type ListResponse, type SingleResponse } from './common';

/**
 * Sending domains (server/src/services/sending-domains.ts): a domain mail is sent From, with the
 * DKIM selector and RSA key its mail is signed with on every server. The private key is write-only:
 * encrypted at rest like SMTP passwords, never in a response.
 */

/** The size of a generated key (RFC 8301: at least 1024 bits, 2048 recommended). */
export const GENERATED_KEY_BITS = 2048;
/** Imported keys: RSA between these sizes (receivers ignore signatures under 1024 bits). */
export const MIN_KEY_BITS = 1024;
export const MAX_KEY_BITS = 4096;
/** A PEM of a 4096-bit key is about 3.3 KB. */
export const MAX_PEM_CHARS = 16_384;

export const KEY_SOURCES = ['generated', 'imported'] as const;
export type KeySource = (typeof KEY_SOURCES)[number];

/** One DNS label: letters, digits and inner dashes, at most 63 characters (punycode for IDNs). */
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN_PATTERN = new RegExp(`^(?:${LABEL}\\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$`);
const SELECTOR_PATTERN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

/** A domain name as mail is sent From it: lower case, at least two labels, ASCII (xn-- for IDNs). */
export const domainNameSchema = () =>
  singleLine(253)
    .transform((value) => value.toLowerCase().replace(/\.$/, ''))
    .refine((value) => value.length > 0, { error: 'is required' })
    .refine((value) => DOMAIN_PATTERN.test(value), {
      error:
        'must be a domain name such as mail.example.com (letters, digits, dashes; xn-- form for international names)',
    });

export const createSendingDomainSchema = z
  .strictObject({
    domain: domainNameSchema(),
    /** The DKIM selector: the record is published at <selector>._domainkey.<domain>. */
    selector: singleLine(63)
      .transform((value) => value.toLowerCase())
      .refine((value) => value.length > 0, { error: 'is required' })
      .refine((value) => SELECTOR_PATTERN.test(value), {
        error: 'must be letters, digits and dashes (dots between parts), e.g. mail2025',
      }),
    /** Generate a new 2048-bit RSA key pair. */
    generate: z.boolean({ error: 'must be true or false' }).optional(),
    /** Or import an existing RSA private key, unencrypted PEM (PKCS#1 or PKCS#8). Write-only. */
    privateKey: z
      .string({ error: 'must be a PEM private key (text)' })
      .max(MAX_PEM_CHARS, { error: `must be at most ${MAX_PEM_CHARS} characters` })
      .optional(),
  })
  .superRefine((input, context) => {
    const importing = input.privateKey !== undefined && input.privateKey.trim() !== '';
    if (input.generate === true && importing) {
      context.addIssue({ code: 'custom', path: ['privateKey'], message: 'must be left out when generate is true' });
    } else if (input.generate !== true && !importing) {
      context.addIssue({ code: 'custom', path: ['privateKey'], message: 'is required unless generate is true' });
    }
  });

export type CreateSendingDomainInput = z.input<typeof createSendingDomainSchema>;
export type CreateSendingDomainData = z.output<typeof createSendingDomainSchema>;

export const SENDING_DOMAIN_SORT_FIELDS = ['domain', 'createdAt'] as const;

export const listSendingDomainsQuerySchema = z.strictObject({
  ...paginationQuery,
  sort: z
    .string()
    .regex(new RegExp(`^(${SENDING_DOMAIN_SORT_FIELDS.join('|')}):(asc|desc)$`), {
      error: `must be field:asc or field:desc, with field one of: ${SENDING_DOMAIN_SORT_FIELDS.join(', ')}`,
    })
    .default('domain:asc'),
  /** Part of the domain name. */
  q: singleLine(253).optional(),
});

export type ListSendingDomainsQuery = z.input<typeof listSendingDomainsQuerySchema>;

/** GET /sending-domains/:id/dns: `check=false` gives the records without looking them up. */
export const dnsQuerySchema = z.strictObject({
  check: z.enum(['true', 'false'], { error: 'must be true or false' }).default('true'),
});

/** A sending domain as every response shows it: the public key, never the private one. */
export interface SendingDomain {
  documentId: string;
  domain: string;
  selector: string;
  /** base64 of the DER public key (SubjectPublicKeyInfo): the p= of the DKIM record. */
  publicKey: string;
  keyBits: number;
  keySource: KeySource;
  createdAt: string;
  updatedAt: string;
}

export const DNS_RECORD_KINDS = ['dkim', 'spf', 'dmarc'] as const;
export type DnsRecordKind = (typeof DNS_RECORD_KINDS)[number];

/**
 * What a lookup found for a record:
 * - match: published as shown (DKIM: the same public key; SPF: every suggested mechanism is in the
 *   domain's SPF record; DMARC: a DMARC record with a policy);
 * - different: something is published there, but not that (see `found` and `message`);
 * - missing: the name has no such record (and DNS answered for other names, so it is really missing);
 * - unreachable: DNS could not be asked (no resolver, no internet, a timeout): nothing is known.
 */
export const DNS_CHECK_STATUSES = ['match', 'different', 'missing', 'unreachable'] as const;
export type DnsCheckStatus = (typeof DNS_CHECK_STATUSES)[number];

export interface DnsCheck {
  status: DnsCheckStatus;
  /** The TXT values found at the name (chunks joined), the relevant ones first. */
  found: string[];
  /** One sentence for people; for `unreachable` it starts with "DNS not reachable: ". */
  message: string;
}

export interface DnsRecord {
  kind: DnsRecordKind;
  type: 'TXT';
  /** The full name to publish it at, e.g. mail2025._domainkey.example.com. */
  name: string;
  /** The TXT value to publish (DKIM: required as is; SPF and DMARC: suggestions). */
  value: string;
  /** What the record is and what to adapt. */
  note: string;
  /** The lookup's result; null when the records were asked for without a check. */
  check: DnsCheck | null;
}

export interface SendingDomainDns {
  domain: string;
  selector: string;
  records: DnsRecord[];
  /** Present when checked: whether this server's DNS resolver answered at all, and when. */
  lookup: { reachable: boolean; message: string; checkedAt: string; durationMs: number } | null;
}

export type ListSendingDomainsResponse = ListResponse<SendingDomain>;
export type SendingDomainResponse = SingleResponse<SendingDomain>;
export type SendingDomainDnsResponse = SingleResponse<SendingDomainDns>;
