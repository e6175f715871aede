import { formatDestinationLimits, parseDestinationLimits } from '../../admin/src/pages/servers/serverFormValues';
import { parsePluginConfig } from '../../server/src/config/schema';
import { limitsFor, SHIPPED_DESTINATION_LIMITS } from '../../server/src/engine/destination-limits';
import {
  createDestinationMap,
  providerOfMx,
  SHIPPED_PROVIDERS,
  type MxRecord,
  type MxResolver,
} from '../../server/src/engine/destinations';
import { destinationLimitsSchema } from '../../shared/contracts/destinations';
import { createServerSchema } from '../../shared/contracts/servers';

const encryptionKey = Buffer.alloc(32, 3).toString('base64');

describe('recipient domain -> provider', () => {
  it('knows the large consumer providers without DNS', () => {
    const map = createDestinationMap({ resolveMx: null });
    expect(map.destinationOf('gmail.com')).toBe('gmail');
    expect(map.destinationOf('GoogleMail.com')).toBe('gmail');
    expect(map.destinationOf('hotmail.com')).toBe('microsoft');
    expect(map.destinationOf('outlook.com')).toBe('microsoft');
    expect(map.destinationOf('live.com')).toBe('microsoft');
    expect(map.destinationOf('msn.com')).toBe('microsoft');
    expect(map.destinationOf('yahoo.com')).toBe('yahoo');
    expect(map.destinationOf('aol.com')).toBe('yahoo');
    expect(map.destinationOf('icloud.com')).toBe('apple');
    expect(map.destinationOf('me.com')).toBe('apple');
    // Without DNS an unknown domain stands for itself.
    expect(map.destinationOf('Example.ORG')).toBe('example.org');
  });

  it('lists the distinct destinations of a message in first-seen order', () => {
    const map = createDestinationMap({ resolveMx: null });
    expect(
      map.destinationsOf(['a@gmail.com', 'b@example.org', 'c@googlemail.com', 'd@Example.org', 'no-at-sign'])
    ).toEqual(['gmail', 'example.org']);
  });

  it('groups unknown domains by MX host with an injected resolver (Workspace -> gmail, Office 365 -> microsoft, others by mail host)', async () => {
    const answers: Record<string, { exchange: string; priority: number }[]> = {
      'workspace-customer.test': [
        { exchange: 'alt1.aspmx.l.google.com', priority: 5 },
        { exchange: 'aspmx.l.google.com', priority: 1 },
      ],
      'tenant.test': [{ exchange: 'tenant-test.mail.protection.outlook.com.', priority: 0 }],
      'shop-a.test': [{ exchange: 'mx1.sharedhost.test', priority: 10 }],
      'shop-b.test': [
        { exchange: 'mx2.sharedhost.test', priority: 20 },
        { exchange: 'mx1.sharedhost.test', priority: 10 },
      ],
    };
    const asked: string[] = [];
    const resolveMx: MxResolver = async (domain) => {
      asked.push(domain);
      const answer = answers[domain];
      if (!answer) throw Object.assign(new Error(`queryMx ENOTFOUND ${domain}`), { code: 'ENOTFOUND' });
      return answer;
    };
    const map = createDestinationMap({ resolveMx });
    // The first sight never waits for DNS: the domain stands for itself meanwhile.
    expect(
      map.destinationsOf(['x@workspace-customer.test', 'y@tenant.test', 'z@shop-a.test', 'w@shop-b.test'])
    ).toEqual(['workspace-customer.test', 'tenant.test', 'shop-a.test', 'shop-b.test']);
    await map.settled();
    expect(map.destinationOf('workspace-customer.test')).toBe('gmail');
    expect(map.destinationOf('tenant.test')).toBe('microsoft');
    expect(map.destinationOf('shop-a.test')).toBe('mx:sharedhost.test');
    expect(map.destinationOf('shop-b.test')).toBe('mx:sharedhost.test');
    // Known domains are never looked up; each unknown domain once (cached).
    map.destinationOf('gmail.com');
    map.destinationOf('shop-a.test');
    await map.settled();
    expect(asked.sort()).toEqual(['shop-a.test', 'shop-b.test', 'tenant.test', 'workspace-customer.test']);
  });

  it('falls back to the domain itself when DNS is unreachable or slow, and caches the failure', async () => {
    let now = 1_000_000;
    let calls = 0;
    // What this machine's resolver does: no DNS server answers.
    const unreachable: MxResolver = async () => {
      calls += 1;
      throw Object.assign(new Error('queryMx ECONNREFUSED example.net'), { code: 'ECONNREFUSED' });
    };
    const map = createDestinationMap({ resolveMx: unreachable, failureCacheMs: 60_000, clock: () => now });
    expect(map.destinationOf('example.net')).toBe('example.net');
    await map.settled();
    expect(map.destinationOf('example.net')).toBe('example.net');
    expect(calls).toBe(1);
    // Once the failure's cache time passes, the domain is looked up again.
    now += 61_000;
    expect(map.destinationOf('example.net')).toBe('example.net');
    await map.settled();
    expect(calls).toBe(2);

    const never: MxResolver = () => new Promise(() => undefined);
    const slow = createDestinationMap({ resolveMx: never, lookupTimeoutMs: 20 });
    expect(slow.destinationOf('slow.test')).toBe('slow.test');
    await slow.settled();
    expect(slow.destinationOf('slow.test')).toBe('slow.test');
  });

  it('runs at most maxConcurrentLookups lookups at once; a domain asked for meanwhile is looked up when next asked', async () => {
    const asked: string[] = [];
    const answers = new Map<string, (records: MxRecord[]) => void>();
    const resolveMx: MxResolver = (domain) => {
      asked.push(domain);
      return new Promise((resolve) => answers.set(domain, resolve));
    };
    const map = createDestinationMap({ resolveMx, maxConcurrentLookups: 2 });
    for (const domain of ['a.test', 'b.test', 'c.test', 'd.test']) expect(map.destinationOf(domain)).toBe(domain);
    expect(asked).toEqual(['a.test', 'b.test']);
    answers.get('a.test')!([{ exchange: 'aspmx.l.google.com', priority: 1 }]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(map.destinationOf('a.test')).toBe('gmail');
    // A lookup is free again: c.test, asked again, is looked up now; d.test waits for another.
    map.destinationOf('c.test');
    map.destinationOf('d.test');
    expect(asked).toEqual(['a.test', 'b.test', 'c.test']);
  });

  it('reads an MX answer: a null MX or none gives nothing; a provider suffix wins over the preferred host', () => {
    expect(providerOfMx([], SHIPPED_PROVIDERS)).toBeNull();
    expect(providerOfMx([{ exchange: '.', priority: 0 }], SHIPPED_PROVIDERS)).toBeNull();
    expect(providerOfMx([{ exchange: 'mx.icloud.com', priority: 10 }], SHIPPED_PROVIDERS)).toBe('apple');
    expect(providerOfMx([{ exchange: 'mta5.am0.yahoodns.net', priority: 1 }], SHIPPED_PROVIDERS)).toBe('yahoo');
    expect(providerOfMx([{ exchange: 'Mail.Example.COM', priority: 1 }], SHIPPED_PROVIDERS)).toBe('mx:example.com');
  });

  it('takes extra providers from the config (a key given again replaces the shipped rule)', () => {
    const map = createDestinationMap({
      resolveMx: null,
      providers: [
        { key: 'gmail', domains: ['corp-gmail.test'], mxSuffixes: [] },
        { key: 'gmx', domains: ['gmx.de', 'gmx.net'], mxSuffixes: [] },
      ],
    });
    expect(map.destinationOf('gmx.net')).toBe('gmx');
    expect(map.destinationOf('corp-gmail.test')).toBe('gmail');
    expect(map.destinationOf('gmail.com')).toBe('gmail.com');
  });
});

describe('destination limits', () => {
  it('ships connection limits for the large providers', () => {
    expect(limitsFor('gmail', {})).toEqual({ connections: 5, perSecond: null, perMinute: null, perHour: null });
    expect(limitsFor('microsoft', {})).toMatchObject({ connections: 5 });
    expect(limitsFor('example.org', {})).toBeNull();
    expect(SHIPPED_DESTINATION_LIMITS.apple).toEqual({ connections: 10 });
  });

  it('layers field by field: server entry, config entry, shipped, server default, config default; null lifts a limit', () => {
    const config = { gmail: { perMinute: 600 }, default: { perHour: 1000 } };
    const server = { gmail: { perMinute: 20, connections: null }, default: { perSecond: 2 } };
    expect(limitsFor('gmail', { config })).toEqual({ connections: 5, perSecond: null, perMinute: 600, perHour: 1000 });
    expect(limitsFor('gmail', { config, server })).toEqual({
      connections: null,
      perSecond: 2,
      perMinute: 20,
      perHour: 1000,
    });
    expect(limitsFor('example.org', { config, server })).toEqual({
      connections: null,
      perSecond: 2,
      perMinute: null,
      perHour: 1000,
    });
    expect(limitsFor('gmail', { server: { gmail: { connections: null } } })).toBeNull();
  });

  it('validates limits, naming the field and the reason', () => {
    expect(destinationLimitsSchema.parse({ Gmail: { perMinute: 20 } })).toEqual({ gmail: { perMinute: 20 } });
    const bad = destinationLimitsSchema.safeParse({
      gmail: { perMinute: 2.5, connections: 0, perSecond: -1, burst: 3 },
    });
    expect(bad.success).toBe(false);
    const messages = bad.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        'gmail.perMinute: must be a whole number',
        'gmail.connections: must be at least 1',
        'gmail.perSecond: must be more than 0',
        expect.stringMatching(/burst/),
      ])
    );
    const badKey = destinationLimitsSchema.safeParse({ 'not a domain!': { perMinute: 1 } });
    expect(badKey.success).toBe(false);
    expect(badKey.error!.issues[0]!.message).toMatch(/provider key|domain/);
  });

  it('is a field of a server (null when not given) and of the plugin config (checked at boot)', () => {
    const server = createServerSchema.parse({
      name: 'a',
      host: 'smtp.example.com',
      port: 587,
      destinationLimits: { gmail: { perMinute: 20 } },
    });
    expect(server.destinationLimits).toEqual({ gmail: { perMinute: 20 } });
    expect(createServerSchema.parse({ name: 'a', host: 'smtp.example.com', port: 587 }).destinationLimits).toBeNull();
    const wrong = createServerSchema.safeParse({
      name: 'a',
      host: 'smtp.example.com',
      port: 587,
      destinationLimits: { gmail: { perHour: -2 } },
    });
    expect(wrong.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toEqual([
      'destinationLimits.gmail.perHour: must not be negative',
    ]);

    const parsed = parsePluginConfig({ encryptionKey });
    expect(parsed.destinations).toEqual({
      enabled: true,
      dns: { enabled: true, timeoutMs: 2000, cacheSec: 3600 },
      providers: [],
      limits: {},
    });
    expect(() => parsePluginConfig({ encryptionKey, destinations: { limits: { gmail: { perMinute: -1 } } } })).toThrow(
      /destinations\.limits\.gmail\.perMinute: must not be negative/
    );
    expect(() =>
      parsePluginConfig({ encryptionKey, destinations: { providers: [{ key: 'x', mxSuffixes: ['google.com'] }] } })
    ).toThrow(/destinations\.providers\.0\.mxSuffixes\.0: must start with a dot/);
  });
});

describe('the server form’s destination limits text', () => {
  it('reads one destination per line and writes it back the same', () => {
    const text = 'gmail: 5 conn, 600/min\nmicrosoft: 2/s, 10000/h\nexample.org: no conn';
    const { limits, problem } = parseDestinationLimits(text);
    expect(problem).toBeNull();
    expect(limits).toEqual({
      gmail: { connections: 5, perMinute: 600 },
      microsoft: { perSecond: 2, perHour: 10000 },
      'example.org': { connections: null },
    });
    expect(formatDestinationLimits(limits)).toBe(text);
    expect(parseDestinationLimits('  \n').limits).toBeNull();
  });

  it('names the line it cannot read', () => {
    expect(parseDestinationLimits('gmail: 5 conn\nmicrosoft 2/s').problem).toMatch(/^line 2: /);
    expect(parseDestinationLimits('gmail: 5 per minute').problem).toMatch(/line 1: "5 per minute" is not a limit/);
  });
});
