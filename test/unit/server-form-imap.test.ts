import { createServerSchema, updateServerSchema, type SmtpServer } from '../../shared/contracts/servers';
import { toFormValues, toServerInput } from '../../admin/src/pages/servers/serverFormValues';

const saved: SmtpServer = {
  documentId: 'srv1',
  name: 'relay',
  host: 'smtp.example.com',
  port: 587,
  security: 'starttls',
  tlsRejectUnauthorized: true,
  username: null,
  hasPassword: false,
  fromAddress: null,
  fromName: null,
  allowedFromDomains: [],
  localAddress: null,
  destinationLimits: null,
  maxConnections: 5,
  ratePerSecond: null,
  hourlyLimit: null,
  dailyLimit: null,
  weight: 1,
  priority: 0,
  enabled: true,
  group: null,
  warmup: null,
  notes: null,
  imap: { host: 'imap.example.com', port: 993, security: 'tls', username: 'bounces', hasPassword: true, mailbox: 'INBOX', processed: { flag: 'Done' } },
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

describe('server form: the bounce mailbox fields', () => {
  it('sends a saved mailbox back unchanged and without a password (the stored one is kept)', () => {
    const input = toServerInput(toFormValues(saved));
    expect(input.imap).toEqual({ host: 'imap.example.com', port: 993, security: 'tls', username: 'bounces', mailbox: 'INBOX', processed: { flag: 'Done' } });
    expect(updateServerSchema.safeParse(input).success).toBe(true);
  });

  it('sends a typed password; turning the mailbox off removes it; a server without one sends nothing', () => {
    expect(toServerInput({ ...toFormValues(saved), imapPassword: 'new-secret' }).imap).toMatchObject({ password: 'new-secret' });
    expect(toServerInput({ ...toFormValues(saved), imapEnabled: false }).imap).toBeNull();
    expect('imap' in toServerInput(toFormValues({ ...saved, imap: null }))).toBe(false);
    expect('imap' in toServerInput(toFormValues())).toBe(false);
  });

  it('a new mailbox: port 993 for tls by default, moved to Processed; valid for the API', () => {
    const values = { ...toFormValues(), name: 'n', host: 'smtp.example.com', imapEnabled: true, imapHost: 'imap.example.com', imapUsername: 'u', imapPassword: 'p' };
    const input = toServerInput(values);
    expect(input.imap).toEqual({ host: 'imap.example.com', port: 993, security: 'tls', username: 'u', password: 'p', mailbox: 'INBOX', processed: { moveTo: 'Processed' } });
    expect(createServerSchema.safeParse(input).success).toBe(true);
  });
});

describe('server form: allowed From domains and local address', () => {
  it('shows the saved values and sends them back; commas, spaces or lines separate domains', () => {
    const values = toFormValues({ ...saved, allowedFromDomains: ['example.com', '*.example.com'], localAddress: '192.0.2.10' });
    expect(values).toMatchObject({ allowedFromDomains: 'example.com, *.example.com', localAddress: '192.0.2.10' });
    expect(toServerInput(values)).toMatchObject({ allowedFromDomains: ['example.com', '*.example.com'], localAddress: '192.0.2.10' });
    const typed = toServerInput({ ...values, allowedFromDomains: ' a.test,b.test\n*.c.test ', localAddress: ' ' });
    expect(typed).toMatchObject({ allowedFromDomains: ['a.test', 'b.test', '*.c.test'], localAddress: null });
    expect(updateServerSchema.safeParse(typed).success).toBe(true);
  });

  it('the API names a bad domain or address', () => {
    const result = updateServerSchema.safeParse({ allowedFromDomains: ['ok.test', 'no_domain'], localAddress: 'localhost' });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['allowedFromDomains.1', 'localAddress']);
    expect(updateServerSchema.parse({ allowedFromDomains: ['Example.COM', 'example.com'], localAddress: '2001:db8::1' })).toEqual({
      allowedFromDomains: ['example.com'],
      localAddress: '2001:db8::1',
    });
  });
});
