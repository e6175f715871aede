import {
  createSubscriberSchema,
  createSuppressionSchema,
  importSubscribersOptionsSchema,
  listSubscribersQuerySchema,
} from '../../shared/contracts/subscribers';
import {
  escapeCell,
  ImportFileError,
  isBlankRow,
  mapHeader,
  mergeExisting,
  readRow,
  unescapeCell,
} from '../../server/src/services/csv-import';
import { membersFor, normaliseSuppression, suppressionMember } from '../../server/src/services/suppressions';

describe('CSV import header', () => {
  it('maps fields in any case, attributes by name, and ignores export-only and empty columns', () => {
    expect(mapHeader(['EMAIL', ' Name ', 'status', 'consentAt', 'City', 'attributes.status', 'lists', 'createdAt', ''])).toEqual([
      { kind: 'field', field: 'email' },
      { kind: 'field', field: 'name' },
      { kind: 'field', field: 'status' },
      { kind: 'field', field: 'consentAt' },
      { kind: 'attribute', name: 'City' },
      { kind: 'attribute', name: 'status' },
      { kind: 'ignored' },
      { kind: 'ignored' },
      { kind: 'ignored' },
    ]);
  });

  it('refuses a header without an email column, with a column twice, or with too many attributes', () => {
    expect(() => mapHeader(['name', 'city'])).toThrow(new ImportFileError('the header row needs an "email" column'));
    expect(() => mapHeader(['email', 'Email'])).toThrow('column "email" appears twice');
    expect(() => mapHeader(['email', 'city', 'attributes.city'])).toThrow('column "city" appears twice');
    expect(() => mapHeader(['email', 'attributes.'])).toThrow('names no attribute');
    expect(() => mapHeader(['email', ...Array.from({ length: 101 }, (_, i) => `a${i}`)])).toThrow('at most 100');
    expect(() => mapHeader(['email', 'x'.repeat(101)])).toThrow('longer than 100');
  });
});

describe('CSV import row', () => {
  const roles = mapHeader(['email', 'name', 'status', 'consentAt', 'zip']);

  it('normalises the address, keeps attribute values as strings and leaves empty cells out', () => {
    expect(readRow([' Ann@Example.COM ', ' Ann ', 'Unsubscribed', '2024-05-01', '01234'], roles, 7)).toEqual({
      ok: true,
      value: {
        row: 7,
        email: 'ann@example.com',
        name: 'Ann',
        status: 'unsubscribed',
        consentAt: new Date('2024-05-01'),
        attributes: { zip: '01234' },
      },
    });
    expect(readRow(['a@b.test'], roles, 2)).toEqual({
      ok: true,
      value: { row: 2, email: 'a@b.test', name: null, status: null, consentAt: null, attributes: {} },
    });
  });

  it('reports every problem of a row with its field', () => {
    expect(readRow(['nope', 'x'.repeat(201), 'maybe', 'soon', 'z'.repeat(10_001), 'extra'], roles, 4)).toEqual({
      ok: false,
      errors: [
        { row: 4, field: 'row', message: 'has 6 cells but the header has 5 columns' },
        { row: 4, field: 'email', message: 'is not a valid email address' },
        { row: 4, field: 'name', message: 'must be at most 200 characters' },
        { row: 4, field: 'status', message: 'must be one of: subscribed, unsubscribed, bounced, complained' },
        { row: 4, field: 'consentAt', message: 'must be a date, e.g. 2024-05-01T09:00:00Z' },
        { row: 4, field: 'zip', message: 'must be at most 10000 characters' },
      ],
    });
    expect(readRow(['', 'Ann'], roles, 3)).toEqual({ ok: false, errors: [{ row: 3, field: 'email', message: 'is required' }] });
    expect(readRow(['a@b.test', 'two\nlines'], roles, 3)).toMatchObject({ ok: false, errors: [{ field: 'name' }] });
    // Trailing empty cells are not extra cells.
    expect(readRow(['a@b.test', '', '', '', '', '', ''], roles, 3)).toMatchObject({ ok: true });
  });

  it('tells blank rows', () => {
    expect(isBlankRow([''])).toBe(true);
    expect(isBlankRow([' ', '', '  '])).toBe(true);
    expect(isBlankRow(['', 'x'])).toBe(false);
  });
});

describe('spreadsheet formula escaping', () => {
  it('prefixes cells a spreadsheet would run, and the import takes the prefix off again', () => {
    for (const value of ['=1+1', '+33 1 23', '-5', '@SUM(A1)', '\tx']) {
      expect(escapeCell(value)).toBe(`'${value}`);
      expect(unescapeCell(escapeCell(value))).toBe(value);
    }
    for (const value of ['plain', "'quoted", "it's", '']) {
      expect(escapeCell(value)).toBe(value);
      expect(unescapeCell(value)).toBe(value);
    }
  });
});

describe('updating an existing subscriber from an import row', () => {
  const now = new Date('2025-01-01T00:00:00Z');
  const existing = { id: 1, email: 'a@b.test', name: 'Ann', status: 'subscribed' as const, attributes: { city: 'Paris', plan: 'free' } };
  const row = (patch: object) => ({ row: 2, email: 'a@b.test', name: null, status: null, consentAt: null, attributes: {}, ...patch });

  it('changes only what the row gives, merging attributes', () => {
    expect(mergeExisting(existing, row({}), now)).toBeNull();
    expect(mergeExisting(existing, row({ name: 'Ann', attributes: { city: 'Paris' } }), now)).toBeNull();
    expect(mergeExisting(existing, row({ name: 'Annie', status: 'unsubscribed', attributes: { plan: 'pro', vip: 'yes' } }), now)).toEqual({
      data: { name: 'Annie', status: 'unsubscribed', unsubscribedAt: now, attributes: { city: 'Paris', plan: 'pro', vip: 'yes' } },
    });
  });

  it('refuses a merge that would pass the attribute limit', () => {
    const full = { ...existing, attributes: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'v'])) };
    expect(mergeExisting(full, row({ attributes: { extra: 'x' } }), now)).toEqual({
      error: 'would give the subscriber more than 100 attributes',
    });
  });
});

describe('suppression values', () => {
  it('normalises and infers the kind', () => {
    expect(normaliseSuppression(' Ann@Example.COM ')).toEqual({ value: 'ann@example.com', kind: 'address' });
    expect(normaliseSuppression('Example.COM')).toEqual({ value: 'example.com', kind: 'domain' });
    expect(normaliseSuppression('@example.com')).toEqual({ value: 'example.com', kind: 'domain' });
  });

  it('maps to Redis set members: addresses as they are, domains with a leading @', () => {
    expect(suppressionMember('ann@example.com', 'address')).toBe('ann@example.com');
    expect(suppressionMember('example.com', 'domain')).toBe('@example.com');
    expect(membersFor(' Ann@Example.com')).toEqual(['ann@example.com', '@example.com']);
  });

  it('accepts addresses and domains, refuses anything else', () => {
    for (const value of ['a@b.test', 'b.test', '@b.test', 'sub.domain.example.co.uk']) {
      expect(createSuppressionSchema.safeParse({ value }).success).toBe(true);
    }
    for (const value of ['', 'localhost', 'not a domain', 'a@@b.test', '@', 'a@', '-bad-.test', 'x@y.test\nBcc: z']) {
      expect(createSuppressionSchema.safeParse({ value }).success).toBe(false);
    }
  });
});

describe('audience contracts', () => {
  it('takes list ids as an array or comma-separated, without duplicates', () => {
    expect(createSubscriberSchema.parse({ email: 'a@b.test', lists: ['x', 'y', 'x'] }).lists).toEqual(['x', 'y']);
    expect(importSubscribersOptionsSchema.parse({ lists: ' x, y ,,x' }).lists).toEqual(['x', 'y']);
    expect(importSubscribersOptionsSchema.parse({}).lists).toEqual([]);
  });

  it('reads form booleans', () => {
    for (const [input, output] of [
      ['true', true],
      ['1', true],
      ['on', true],
      ['false', false],
      ['0', false],
      ['', false],
      [true, true],
    ] as const) {
      expect(importSubscribersOptionsSchema.parse({ updateExisting: input }).updateExisting).toBe(output);
    }
    expect(importSubscribersOptionsSchema.safeParse({ updateExisting: 'perhaps' }).success).toBe(false);
  });

  it('defaults the subscriber list query and checks its sort', () => {
    expect(listSubscribersQuerySchema.parse({})).toEqual({ page: 1, pageSize: 25, sort: 'createdAt:desc' });
    expect(listSubscribersQuerySchema.safeParse({ sort: 'email:up' }).success).toBe(false);
  });
});
