/**
 * Recipient domain -> receiving provider, for per-destination shaping (destination-limits.ts).
 *
 * Large receivers answer for many domains from one set of MX hosts (Google Workspace domains are
 * served by gmail's MX, Office 365 tenants by `*.mail.protection.outlook.com`), and they judge a
 * sender by what it sends to all of them together: limits are per provider, not per domain. The
 * shipped table follows KumoMTA's shaping file (assets/policy-extras/shaping.toml: providers
 * matched by MX suffix) plus the providers' own consumer domains, so the common ones are known
 * without DNS.
 *
 * A domain not in the table is looked up (MX, once, with a short timeout, cached) in the
 * background: the engine never waits for DNS. Until the answer is in, and whenever DNS is not
 * reachable, the domain stands for itself. An answer whose MX hosts end in a provider's suffix maps
 * the domain to that provider; other answers group domains by their preferred MX host's parent
 * domain (`mx:mailhost.example`), so domains hosted together share one limit.
 */

export interface ProviderRule {
  /** The key limits are given under, e.g. `gmail`. */
  key: string;
  /** Recipient domains known to be this provider's (exact, lower case). */
  domains: string[];
  /** MX host suffixes of this provider, e.g. `.google.com`. */
  mxSuffixes: string[];
}

/** Shipped providers. Keys are what `destinations.limits` and a server's `destinationLimits` name. */
export const SHIPPED_PROVIDERS: readonly ProviderRule[] = [
  { key: 'gmail', domains: ['gmail.com', 'googlemail.com'], mxSuffixes: ['.google.com', '.googlemail.com'] },
  {
    key: 'microsoft',
    domains: [
      'outlook.com',
      'hotmail.com',
      'hotmail.co.uk',
      'hotmail.fr',
      'hotmail.de',
      'hotmail.it',
      'hotmail.es',
      'live.com',
      'live.fr',
      'live.co.uk',
      'msn.com',
      'outlook.fr',
      'outlook.de',
    ],
    // Consumer (olc), Office 365 tenants (mail.protection) and the DANE set (mx.microsoft).
    mxSuffixes: ['.protection.outlook.com', '.mx.microsoft'],
  },
  {
    key: 'yahoo',
    domains: [
      'yahoo.com',
      'yahoo.co.uk',
      'yahoo.fr',
      'yahoo.de',
      'yahoo.it',
      'yahoo.es',
      'yahoo.co.jp',
      'ymail.com',
      'rocketmail.com',
      'aol.com',
      'aim.com',
      'verizon.net',
    ],
    mxSuffixes: ['.yahoodns.net'],
  },
  { key: 'apple', domains: ['icloud.com', 'me.com', 'mac.com'], mxSuffixes: ['.icloud.com'] },
  { key: 'mimecast', domains: [], mxSuffixes: ['.mimecast.com', '.mimecast.co.za', '.mimecast-offshore.com'] },
  { key: 'comcast', domains: ['comcast.net'], mxSuffixes: ['.comcast.net'] },
  { key: 'orange', domains: ['orange.fr', 'wanadoo.fr'], mxSuffixes: ['.orange.fr'] },
];

export type MxRecord = { exchange: string; priority: number };
/** Resolves a domain's MX records (node:dns/promises' resolveMx, or a fake in tests). */
export type MxResolver = (domain: string) => Promise<MxRecord[]>;

export interface DestinationMapOptions {
  /** Providers added to (or replacing by key) the shipped ones. */
  providers?: ProviderRule[];
  /** null: no DNS at all (every unknown domain stands for itself). */
  resolveMx?: MxResolver | null;
  /** A lookup not answered within this counts as failed. Default 2 s. */
  lookupTimeoutMs?: number;
  /** How long an answer is kept. Default 1 h. */
  cacheMs?: number;
  /** How long a failed lookup (no DNS, timeout, no MX) is kept before the domain is looked up again. Default 5 min. */
  failureCacheMs?: number;
  /** Domains cached at most; the oldest are dropped beyond it. Default 10,000. */
  maxCached?: number;
  /**
   * Lookups under way at most. A domain asked for while this many are pending stands for itself and
   * is looked up when next asked with a lookup free: a campaign's first page to thousands of new
   * domains does not fire thousands of DNS queries at once. Default 16.
   */
  maxConcurrentLookups?: number;
  clock?: () => number;
}

const DEFAULT_LOOKUP_TIMEOUT_MS = 2000;
const DEFAULT_CACHE_MS = 3600_000;
const DEFAULT_FAILURE_CACHE_MS = 300_000;
const DEFAULT_MAX_CACHED = 10_000;
const DEFAULT_MAX_CONCURRENT_LOOKUPS = 16;

/** The last two labels of a host name: `mx1.mailhost.example` -> `mailhost.example`. No public suffix list: a grouping key only. */
const parentDomainOf = (host: string) => host.split('.').slice(-2).join('.');

/** Providers by key: the shipped ones, then `extra` (a key given again replaces the shipped rule). */
export const mergeProviders = (extra: ProviderRule[] = []): ProviderRule[] => {
  const byKey = new Map(SHIPPED_PROVIDERS.map((rule) => [rule.key, rule]));
  for (const rule of extra) byKey.set(rule.key, rule);
  return [...byKey.values()];
};

/** Which provider an MX answer points to: a provider by suffix, else `mx:<parent of the preferred host>`; null if no usable MX. */
export const providerOfMx = (records: MxRecord[], providers: readonly ProviderRule[]): string | null => {
  const hosts = records
    .filter((record) => record.exchange && record.exchange !== '.')
    .sort((left, right) => left.priority - right.priority)
    .map((record) => record.exchange.toLowerCase().replace(/\.$/, ''));
  if (hosts.length === 0) return null;
  for (const host of hosts) {
    const provider = providers.find((rule) => rule.mxSuffixes.some((suffix) => host.endsWith(suffix)));
    if (provider) return provider.key;
  }
  return `mx:${parentDomainOf(hosts[0]!)}`;
};

export const createDestinationMap = (options: DestinationMapOptions = {}) => {
  const clock = options.clock ?? Date.now;
  const providers = mergeProviders(options.providers);
  const byDomain = new Map<string, string>();
  for (const rule of providers) for (const domain of rule.domains) byDomain.set(domain.toLowerCase(), rule.key);
  const resolveMx = options.resolveMx ?? null;
  const lookupTimeoutMs = options.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS;
  const cacheMs = options.cacheMs ?? DEFAULT_CACHE_MS;
  const failureCacheMs = options.failureCacheMs ?? DEFAULT_FAILURE_CACHE_MS;
  const maxCached = options.maxCached ?? DEFAULT_MAX_CACHED;
  /** Looked-up domains: the provider key (null: no answer, the domain stands for itself) until `expires`. */
  const looked = new Map<string, { key: string | null; expires: number }>();
  const pending = new Map<string, Promise<void>>();
  const maxConcurrentLookups = options.maxConcurrentLookups ?? DEFAULT_MAX_CONCURRENT_LOOKUPS;

  const lookUp = (domain: string) => {
    if (!resolveMx || pending.has(domain) || pending.size >= maxConcurrentLookups) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('MX lookup timed out')), lookupTimeoutMs);
      timer.unref?.();
    });
    const done = Promise.race([resolveMx(domain), timeout])
      .then(
        (records) => providerOfMx(records, providers),
        () => null
      )
      .then((key) => {
        clearTimeout(timer);
        if (looked.size >= maxCached) looked.delete(looked.keys().next().value!);
        looked.set(domain, { key, expires: clock() + (key === null ? failureCacheMs : cacheMs) });
        pending.delete(domain);
      });
    pending.set(domain, done);
  };

  /** The destination a recipient domain counts toward now; never waits (an unknown domain is looked up in the background). */
  const destinationOf = (domain: string): string => {
    const lower = domain.toLowerCase();
    const known = byDomain.get(lower);
    if (known) return known;
    const cached = looked.get(lower);
    if (cached && cached.expires > clock()) return cached.key ?? lower;
    lookUp(lower);
    return cached?.key ?? lower;
  };

  return {
    destinationOf,
    /** The distinct destinations of a message's recipients (addresses), in first-seen order. */
    destinationsOf(recipients: readonly string[]): string[] {
      const seen: string[] = [];
      for (const recipient of recipients) {
        const at = recipient.lastIndexOf('@');
        if (at < 0) continue;
        const destination = destinationOf(recipient.slice(at + 1));
        if (!seen.includes(destination)) seen.push(destination);
      }
      return seen;
    },
    /** Resolves once every lookup started so far has settled (tests). */
    async settled(): Promise<void> {
      await Promise.all([...pending.values()]);
    },
  };
};

export type DestinationMap = ReturnType<typeof createDestinationMap>;
