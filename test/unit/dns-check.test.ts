import { checkDnsRecords, judge, type DnsLookup, type ExpectedRecord } from '../../server/src/engine/dns-check';

const KEY = 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtest';
const RECORDS: ExpectedRecord[] = [
  { kind: 'dkim', name: 's1._domainkey.shop.example', value: `v=DKIM1; k=rsa; p=${KEY}` },
  {
    kind: 'spf',
    name: 'shop.example',
    value: 'v=spf1 a:smtp.relay.example ~all',
    mechanisms: ['a:smtp.relay.example'],
  },
  { kind: 'dmarc', name: '_dmarc.shop.example', value: 'v=DMARC1; p=none; rua=mailto:dmarc-reports@shop.example' },
];

const dnsError = (code: string) => Object.assign(new Error(`query ${code}`), { code });

/** A resolver answering from a zone; names not in it are NXDOMAIN; `root` says how the probe goes. */
const fakeLookup = (
  zone: Record<string, string[][]>,
  root: 'ok' | string | 'hang' = 'ok'
): DnsLookup & { cancelled: boolean } => {
  const lookup = {
    cancelled: false,
    resolveTxt: async (name: string) => {
      if (root === 'hang') return new Promise<string[][]>(() => undefined);
      const answer = zone[name];
      if (!answer) throw dnsError('ENOTFOUND');
      return answer;
    },
    resolveNs: async () => {
      if (root === 'ok') return ['a.root-servers.net'];
      if (root === 'hang') return new Promise<string[]>(() => undefined);
      throw dnsError(root);
    },
    cancel: () => {
      lookup.cancelled = true;
    },
  };
  return lookup;
};

describe('DNS check of a sending domain', () => {
  it('reports each record as matching when published as shown (long TXT values in chunks)', async () => {
    const value = `v=DKIM1; k=rsa; p=${KEY}`;
    const result = await checkDnsRecords(RECORDS, {
      lookup: fakeLookup({
        's1._domainkey.shop.example': [[value.slice(0, 20), value.slice(20)]],
        'shop.example': [
          ['google-site-verification=abc'],
          ['v=spf1 include:_spf.example.net a:smtp.relay.example -all'],
        ],
        '_dmarc.shop.example': [['v=DMARC1; p=reject']],
      }),
    });
    expect(result.reachable).toBe(true);
    expect(result.checks.map((check) => check.status)).toEqual(['match', 'match', 'match']);
    expect(result.checks[1]!.found).toEqual(['v=spf1 include:_spf.example.net a:smtp.relay.example -all']);
  });

  it('tells a different record from a missing one', async () => {
    const result = await checkDnsRecords(RECORDS, {
      lookup: fakeLookup({
        's1._domainkey.shop.example': [['v=DKIM1; k=rsa; p=MIIBother']],
        'shop.example': [['v=spf1 mx ~all']],
      }),
    });
    expect(result.checks.map((check) => check.status)).toEqual(['different', 'different', 'missing']);
    expect(result.checks[1]!.message).toContain('a:smtp.relay.example');
    expect(result.checks[2]!.message).toBe('no DMARC record is published');
  });

  it('says DNS is not reachable, not missing, when the resolver cannot even name the root servers', async () => {
    const result = await checkDnsRecords(RECORDS, { lookup: fakeLookup({}, 'ENOTFOUND') });
    expect(result.reachable).toBe(false);
    expect(result.message).toMatch(/^DNS not reachable: ENOTFOUND even for the root zone/);
    for (const check of result.checks) {
      expect(check).toEqual({
        status: 'unreachable',
        found: [],
        message: expect.stringMatching(/^DNS not reachable: /),
      });
    }
  });

  it('reports a refused resolver with its error code', async () => {
    const lookup = fakeLookup({}, 'ECONNREFUSED');
    lookup.resolveTxt = async () => {
      throw dnsError('ECONNREFUSED');
    };
    const result = await checkDnsRecords(RECORDS, { lookup });
    expect(result.checks.map((check) => check.message)).toEqual(Array(3).fill('DNS not reachable: ECONNREFUSED'));
  });

  it('gives up after the total timeout and cancels the lookups still running', async () => {
    const lookup = fakeLookup({}, 'hang');
    const started = Date.now();
    const result = await checkDnsRecords(RECORDS, { lookup, totalTimeoutMs: 200 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(lookup.cancelled).toBe(true);
    expect(result.reachable).toBe(false);
    expect(result.checks.map((check) => check.message)).toEqual(
      Array(3).fill('DNS not reachable: no answer within 200 ms')
    );
  });

  it('judges SPF and DMARC records by what they say', () => {
    const spf = RECORDS[1]!;
    expect(judge(spf, ['v=spf1 a:smtp.relay.example ~all', 'v=spf1 mx ~all'])).toMatchObject({
      status: 'different',
      message: expect.stringContaining('2 SPF records'),
    });
    expect(judge(spf, ['not spf'])).toMatchObject({ status: 'missing' });
    const dmarc = RECORDS[2]!;
    expect(judge(dmarc, ['v=DMARC1; rua=mailto:x@shop.example'])).toMatchObject({ status: 'different' });
    expect(judge(dmarc, ['v=DMARC1; p=quarantine'])).toMatchObject({ status: 'match' });
    expect(judge(RECORDS[0]!, ['v=DKIM1; p='])).toMatchObject({
      status: 'different',
      message: expect.stringContaining('revoked'),
    });
  });
});
