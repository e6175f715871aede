import { createGroupSchema } from '../../shared/contracts/groups';
import { createServerSchema, updateServerSchema } from '../../shared/contracts/servers';
import { formsFallbackCycle } from '../../server/src/services/groups';
import { weightShares } from '../../server/src/services/mappers';

const valid = { name: 'Primary', host: 'smtp.example.com', port: 587 };

const issuesOf = (result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  (result.error?.issues ?? []).map((issue) => `${issue.path.join('.')}: ${issue.message}`);

describe('server input schema', () => {
  it('fills defaults', () => {
    expect(createServerSchema.parse(valid)).toMatchObject({
      security: 'starttls',
      tlsRejectUnauthorized: true,
      maxConnections: 5,
      weight: 1,
      priority: 0,
      enabled: true,
      hourlyLimit: null,
      dailyLimit: null,
      group: null,
    });
  });

  it.each([
    [{ port: 70000 }, 'port: must be between 1 and 65535'],
    [{ port: 0 }, 'port: must be between 1 and 65535'],
    [{ security: 'ssl' }, 'security: must be one of: none, starttls, tls'],
    [{ hourlyLimit: -1 }, 'hourlyLimit: must not be negative'],
    [{ weight: -5 }, 'weight: must not be negative'],
    [{ fromName: 'Evil\r\nBcc: x@y.z' }, 'fromName: must not contain a line break (CR or LF)'],
    [{ fromAddress: 'a@b.c\nBcc: d@e.f' }, 'fromAddress: must not contain a line break (CR or LF)'],
    [{ host: 'smtp.example.com\r\nMAIL FROM' }, 'host: must not contain a line break (CR or LF)'],
    [{ fromAddress: 'not-an-address' }, 'fromAddress: must be a valid email address'],
    [{ warmup: { startDate: '2026-13-40' } }, 'warmup.startDate: is not a real date'],
  ])('refuses %j', (patch, expected) => {
    expect(issuesOf(createServerSchema.safeParse({ ...valid, ...patch }))).toContain(expected);
  });

  it('accepts a partial update and keeps the password unless given', () => {
    const parsed = updateServerSchema.parse({ weight: 3 });
    expect(parsed).toEqual({ weight: 3 });
    expect('password' in parsed).toBe(false);
  });
});

describe('group rules', () => {
  it('checks slugs', () => {
    expect(issuesOf(createGroupSchema.safeParse({ name: 'EU', slug: 'EU Marketing' }))[0]).toMatch(/^slug: must be lowercase/);
  });

  it('finds fallback loops', () => {
    const links = new Map<string, string | null>([
      ['a', 'b'],
      ['b', 'c'],
      ['c', null],
    ]);
    expect(formsFallbackCycle(links, 'c', 'a')).toBe(true);
    expect(formsFallbackCycle(links, 'c', null)).toBe(false);
    expect(formsFallbackCycle(links, 'a', 'c')).toBe(false);
  });

  it('shares traffic by weight among enabled servers', () => {
    expect(
      weightShares([
        { enabled: true, weight: 5 },
        { enabled: true, weight: 3 },
        { enabled: true, weight: 2 },
        { enabled: false, weight: 10 },
        { enabled: true, weight: 0 },
      ])
    ).toEqual([50, 30, 20, 0, 0]);
    expect(weightShares([{ enabled: true, weight: 1 }, { enabled: true, weight: 2 }])).toEqual([33.3, 66.7]);
  });
});
