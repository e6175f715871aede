import { generateKeyPairSync } from 'node:crypto';

import { parsePluginConfig } from '../../server/src/config/schema';
import { bearerMatches, messagesOf, splitMbox } from '../../server/src/services/inbound';
import { isSnsUrl, snsStringToSign } from '../../server/src/services/webhooks';

const encryptionKey = Buffer.alloc(32, 3).toString('base64');

describe('bounce and webhook config', () => {
  it('has safe defaults: VERP, the inbound endpoint and both webhooks off; every rule on', () => {
    const { bounces, webhooks } = parsePluginConfig({ encryptionKey });
    expect(bounces).toEqual({
      verpLocalPart: 'bounce',
      maxInboundBytes: 10 * 1024 * 1024,
      rateLimitPerMinute: 600,
      suppressOnHardBounce: true,
      suppressOnComplaint: true,
      softBounceLimit: 3,
      softBounceWindowDays: 7,
      suppressUnlinked: false,
      dedupeDays: 30,
      // No global bounce mailbox (no host): test/unit/config.test.ts covers bounces.imap.
      imap: expect.not.objectContaining({ host: expect.anything() }),
    });
    expect(webhooks).toEqual({ maxAgeSeconds: 600, ses: { topicArns: [], autoConfirm: false }, sendgrid: {} });
  });

  it('names each bad field', () => {
    const bad = (config: object) => () => parsePluginConfig({ encryptionKey, ...config });
    expect(bad({ bounces: { verpDomain: 'not a domain' } })).toThrow(/bounces\.verpDomain/);
    expect(bad({ bounces: { verpLocalPart: 'far-too-long-local-part' } })).toThrow(/bounces\.verpLocalPart/);
    expect(bad({ bounces: { inboundToken: 'short' } })).toThrow(/bounces\.inboundToken: must be at least 16/);
    expect(bad({ bounces: { softBounceLimit: -1 } })).toThrow(/bounces\.softBounceLimit/);
    expect(bad({ webhooks: { ses: { topicArns: ['my-topic'] } } })).toThrow(/webhooks\.ses\.topicArns\.0: must be an SNS topic ARN/);
    expect(bad({ webhooks: { sendgrid: { publicKey: 'not a key at all, but long enough to look like one' } } })).toThrow(/webhooks\.sendgrid\.publicKey/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    expect(bad({ webhooks: { sendgrid: { publicKey: rsa } } })).toThrow(/webhooks\.sendgrid\.publicKey/);
  });

  it('takes a SendGrid key as base64 DER or PEM', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    for (const key of [publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), publicKey.export({ type: 'spki', format: 'pem' }).toString()]) {
      expect(parsePluginConfig({ encryptionKey, webhooks: { sendgrid: { publicKey: key } } }).webhooks.sendgrid.publicKey).toBe(key);
    }
  });
});

describe('inbound bodies', () => {
  it('compares the bearer token in constant time, refusing other schemes and near misses', () => {
    const token = 'inbound-token-0123456789';
    expect(bearerMatches(`Bearer ${token}`, token)).toBe(true);
    expect(bearerMatches(`bearer  ${token} `, token)).toBe(true);
    for (const header of [undefined, '', token, `Basic ${token}`, `Bearer ${token}x`, `Bearer ${token.slice(1)}`, 'Bearer ']) {
      expect(bearerMatches(header, token)).toBe(false);
    }
    expect(bearerMatches(`Bearer ${token}`, undefined)).toBe(false);
  });

  it('splits an mbox at "From " lines after an empty line and undoes ">From " quoting', () => {
    const mbox = [
      'From MAILER-DAEMON Thu Apr 29 23:45:32 2025',
      'Subject: one',
      '',
      '>From the body, quoted',
      'From here on (not a separator: no empty line before it)',
      '',
      'From me, with love (not a separator: no date)',
      '',
      'From MAILER-DAEMON Thu Apr 29 23:45:33 2025',
      'Subject: two',
      '',
      'body',
      '',
    ].join('\n');
    expect(splitMbox(mbox)).toEqual([
      'Subject: one\n\nFrom the body, quoted\nFrom here on (not a separator: no empty line before it)\n\nFrom me, with love (not a separator: no date)',
      'Subject: two\n\nbody',
    ]);
    expect(splitMbox(mbox.replace(/\n/g, '\r\n')).map((message) => message.split('\r\n')[0])).toEqual(['Subject: one', 'Subject: two']);
  });

  it('reads a body as an mbox by its type or its first line, else as one message', () => {
    const single = 'Subject: hi\n\nFrom me, with love\n';
    expect(messagesOf(Buffer.from(single), 'message/rfc822')).toEqual([single]);
    expect(messagesOf(Buffer.from(single), 'text/plain; charset=utf-8')).toEqual([single]);
    expect(messagesOf(Buffer.from(`From sender@example.org Thu Apr 29 10:11:12 2025\n${single}`), 'message/rfc822')).toEqual(['Subject: hi\n\nFrom me, with love']);
    expect(messagesOf(Buffer.from('Subject: a\n\nx\n\nFrom b@example.org  Fri Jul  8 12:08:34 2011\nSubject: b\n\ny\n'), 'application/mbox')).toEqual(['Subject: a\n\nx', 'Subject: b\n\ny']);
    expect(messagesOf(Buffer.from('   \n\n'), 'message/rfc822')).toEqual([]);
    // Bytes that are not UTF-8 pass through unchanged.
    const latin1 = Buffer.from([0x53, 0x3a, 0x20, 0xe9, 0xff, 0x0a]);
    expect(Buffer.from(messagesOf(latin1, 'message/rfc822')[0]!, 'latin1')).toEqual(latin1);
  });
});

describe('SNS messages', () => {
  it('takes certificate and subscribe URLs only over https from sns.<region>.amazonaws.com', () => {
    for (const url of ['https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem', 'https://sns.cn-north-1.amazonaws.com.cn/x.pem']) {
      expect(isSnsUrl(url)).toBe(true);
    }
    for (const url of [
      'http://sns.us-east-1.amazonaws.com/x.pem',
      'https://sns.us-east-1.amazonaws.com.evil.example/x.pem',
      'https://evil.example/sns.us-east-1.amazonaws.com/x.pem',
      'https://s3.amazonaws.com/x.pem',
      'https://user:pass@sns.us-east-1.amazonaws.com/x.pem',
      'https://sns.us-east-1.amazonaws.com:8443/x.pem',
      'not a url',
      42,
    ]) {
      expect(isSnsUrl(url)).toBe(false);
    }
  });

  it('builds the string SNS signs, per message type (Subject only when present)', () => {
    const base = { MessageId: 'm', TopicArn: 't', Message: 'hello', Timestamp: 'ts', SignatureVersion: '2', Signature: 's', SigningCertURL: 'u' };
    expect(snsStringToSign({ ...base, Type: 'Notification' })).toBe('Message\nhello\nMessageId\nm\nTimestamp\nts\nTopicArn\nt\nType\nNotification\n');
    expect(snsStringToSign({ ...base, Type: 'Notification', Subject: 'subj' })).toBe(
      'Message\nhello\nMessageId\nm\nSubject\nsubj\nTimestamp\nts\nTopicArn\nt\nType\nNotification\n'
    );
    expect(snsStringToSign({ ...base, Type: 'SubscriptionConfirmation', SubscribeURL: 'https://x', Token: 'tok' })).toBe(
      'Message\nhello\nMessageId\nm\nSubscribeURL\nhttps://x\nTimestamp\nts\nToken\ntok\nTopicArn\nt\nType\nSubscriptionConfirmation\n'
    );
  });
});
