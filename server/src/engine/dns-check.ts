import { Resolver } from 'node:dns/promises';

import type { DnsCheck, DnsRecordKind } from '../../../shared/contracts/sending-domains';

/**
 * Looks up a sending domain's DKIM, SPF and DMARC records and says, per record, whether what is
 * published matches. A lookup that fails because DNS cannot be asked (no resolver, no route to it,
 * a timeout, or a resolver that knows nothing of the public internet) is reported as such, never as
 * a missing record: alongside the records, the root zone's NS records are asked for, and a resolver
 * that cannot name the root servers cannot prove that a record is missing either.
 */

/** The lookups the check needs: TXT records (chunks of each record), and NS for the probe. */
export interface DnsLookup {
  resolveTxt(name: string): Promise<string[][]>;
  resolveNs(name: string): Promise<string[]>;
  /** Ends every lookup still running (each rejects). */
  cancel(): void;
}

/** What to look for at one name. */
export interface ExpectedRecord {
  kind: DnsRecordKind;
  name: string;
  value: string;
  /** spf: the mechanisms that must be in the published record. */
  mechanisms?: readonly string[];
}

export interface DnsCheckResult {
  reachable: boolean;
  /** One sentence about the resolver: it answered, or why DNS is not reachable. */
  message: string;
  checks: DnsCheck[];
  durationMs: number;
}

/** Answers that mean "this name has no such record" (NXDOMAIN, or no TXT at it). */
const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA']);

const codeOf = (error: unknown) => (error as { code?: string } | null)?.code ?? 'EUNKNOWN';

type Lookup<T> = { ok: true; value: T } | { ok: false; code: string };

const settle = <T>(promise: Promise<T>): Promise<Lookup<T>> =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, code: codeOf(error) })
  );

const tagsOf = (record: string): Map<string, string> =>
  new Map(
    record
      .split(';')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const equals = part.indexOf('=');
        return equals < 0
          ? [part.toLowerCase(), '']
          : [part.slice(0, equals).trim().toLowerCase(), part.slice(equals + 1).trim()];
      })
  );

/** Nothing of the kind at the name: other TXT records there (different), or none (missing). */
const nothingThere = (found: string[], otherwise: string, missing: string): DnsCheck =>
  found.length > 0
    ? { status: 'different', found, message: `a TXT record is published there, but ${otherwise}` }
    : { status: 'missing', found, message: missing };

/** Compares what is published at a name with what should be. */
export const judge = (expected: ExpectedRecord, found: string[]): DnsCheck => {
  switch (expected.kind) {
    case 'dkim': {
      const wanted = tagsOf(expected.value).get('p') ?? '';
      const keys = found.filter((record) => tagsOf(record).has('p'));
      if (keys.length === 0) return nothingThere(found, 'no DKIM key (p=)', 'no DKIM record is published there');
      const published = keys.map((record) => (tagsOf(record).get('p') ?? '').replace(/\s+/g, ''));
      if (published.includes(wanted))
        return { status: 'match', found: keys, message: 'the published key is this domain’s public key' };
      return {
        status: 'different',
        found: keys,
        message: published.every((key) => key === '')
          ? 'the published key is revoked (empty p=)'
          : 'a different public key is published there: publish this one',
      };
    }
    case 'spf': {
      const records = found.filter((record) => /^v=spf1(\s|$)/i.test(record.trim()));
      if (records.length === 0) return { status: 'missing', found, message: 'the domain publishes no SPF record' };
      if (records.length > 1) {
        return {
          status: 'different',
          found: records,
          message: `${records.length} SPF records are published; receivers treat more than one as an error (merge them)`,
        };
      }
      const terms = new Set(records[0]!.trim().toLowerCase().split(/\s+/));
      const absent = (expected.mechanisms ?? []).filter((mechanism) => !terms.has(mechanism.toLowerCase()));
      return absent.length === 0
        ? { status: 'match', found: records, message: 'an SPF record is published and lists every suggested mechanism' }
        : { status: 'different', found: records, message: `the SPF record does not list ${absent.join(', ')}` };
    }
    case 'dmarc': {
      const records = found.filter((record) => /^v=DMARC1\s*(;|$)/i.test(record.trim()));
      if (records.length === 0) return nothingThere(found, 'not a DMARC record', 'no DMARC record is published');
      const policy = tagsOf(records[0]!).get('p')?.toLowerCase();
      return policy && ['none', 'quarantine', 'reject'].includes(policy)
        ? { status: 'match', found: records, message: `a DMARC record is published (policy ${policy})` }
        : {
            status: 'different',
            found: records,
            message: 'the DMARC record has no valid policy (p=none, quarantine or reject)',
          };
    }
  }
};

export interface CheckOptions {
  /** Each query's timeout (one try). Default 2 s. */
  queryTimeoutMs?: number;
  /** The whole check's limit: lookups still running then are cancelled and reported unreachable. Default 5 s. */
  totalTimeoutMs?: number;
  /** For tests: the resolver to ask. Default: node:dns with the system's servers. */
  lookup?: DnsLookup;
}

const systemLookup = (queryTimeoutMs: number): DnsLookup => new Resolver({ timeout: queryTimeoutMs, tries: 1 });

/** Looks every record up at once (with the root probe); resolves within `totalTimeoutMs`. */
export const checkDnsRecords = async (
  records: readonly ExpectedRecord[],
  options: CheckOptions = {}
): Promise<DnsCheckResult> => {
  const started = Date.now();
  const queryTimeoutMs = options.queryTimeoutMs ?? 2000;
  const totalTimeoutMs = options.totalTimeoutMs ?? 5000;
  const lookup = options.lookup ?? systemLookup(queryTimeoutMs);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Lookup<never>>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, code: 'EDEADLINE' }), totalTimeoutMs);
  });
  const bounded = <T>(promise: Promise<T>): Promise<Lookup<T>> => Promise.race([settle(promise), deadline]);

  const [probe, ...answers] = await Promise.all([
    bounded(lookup.resolveNs('.')),
    ...records.map((record) => bounded(lookup.resolveTxt(record.name))),
  ]);
  clearTimeout(timer);
  lookup.cancel();

  // A record found proves DNS works even when the probe failed.
  const reachable = probe!.ok || answers.some((answer) => answer.ok);
  const reasonOf = (code: string) =>
    code === 'EDEADLINE'
      ? `no answer within ${totalTimeoutMs} ms`
      : code === 'ETIMEOUT'
        ? `no answer within ${queryTimeoutMs} ms (ETIMEOUT)`
        : NOT_FOUND.has(code)
          ? `${code} even for the root zone: the resolver knows nothing of public DNS`
          : code;
  const message = reachable
    ? 'DNS answered'
    : `DNS not reachable: ${reasonOf(probe!.ok ? 'EUNKNOWN' : probe!.code)}, so a record that looks missing may well be published`;

  const checks = records.map((record, index): DnsCheck => {
    const answer = answers[index]!;
    if (answer.ok)
      return judge(
        record,
        answer.value.map((chunks) => chunks.join(''))
      );
    if (NOT_FOUND.has(answer.code) && reachable) return judge(record, []);
    const code = NOT_FOUND.has(answer.code) && !probe!.ok ? probe!.code : answer.code;
    return { status: 'unreachable', found: [], message: `DNS not reachable: ${reasonOf(code)}` };
  });

  return { reachable, message, checks, durationMs: Date.now() - started };
};
