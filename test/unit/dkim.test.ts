import { generateKeyPairSync } from 'node:crypto';

import {
  DKIM_SIGNED_HEADERS,
  DkimKeyError,
  domainAndParents,
  domainOfAddress,
  generateDkimKey,
  importDkimKey,
  spfSuggestion,
} from '../../server/src/engine/dkim';
import { createSendingDomainSchema } from '../../shared/contracts/sending-domains';

describe('DKIM keys', () => {
  it('generates a 2048-bit RSA pair whose public key is the DER SPKI in base64', async () => {
    const pair = await generateDkimKey();
    expect(pair.bits).toBe(2048);
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(pair.publicKey).toMatch(/^MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA[A-Za-z0-9+/]+=*$/);
    expect(importDkimKey(pair.privateKeyPem).publicKey).toBe(pair.publicKey);
  });

  it('imports PKCS#1 and PKCS#8, and refuses what it cannot sign with, never quoting the key', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(importDkimKey(`\n${pkcs1}\n`).bits).toBe(1024);
    const refused = (pem: string) => {
      try {
        importDkimKey(pem);
      } catch (error) {
        expect(error).toBeInstanceOf(DkimKeyError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    const body = pkcs1.split('\n')[3]!;
    expect(refused(pkcs1.replace(body, body.slice(0, 20)))).toBe('is not a readable PEM private key');
    expect(
      refused(privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'x' }).toString())
    ).toContain('unencrypted');
    expect(
      refused(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())
    ).toContain('must be an RSA key (this one is ed25519');
    expect(
      refused(
        generateKeyPairSync('rsa', { modulusLength: 512 })
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString()
      )
    ).toContain('has 512');
    expect(
      refused(
        generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
      )
    ).toContain('must be a PEM private key');
  });

  it('signs List-Unsubscribe and List-Unsubscribe-Post besides the usual fields', () => {
    const fields = DKIM_SIGNED_HEADERS.toLowerCase().split(':');
    expect(fields).toEqual(
      expect.arrayContaining('from to subject date message-id list-unsubscribe list-unsubscribe-post'.split(' '))
    );
  });
});

describe('sending domain names', () => {
  it('finds the ASCII domain of an address and its parents', () => {
    expect(domainOfAddress('Ann@News.Shop.Example.')).toBe('news.shop.example');
    expect(domainOfAddress('ann@bücher.example')).toBe('xn--bcher-kva.example');
    expect(domainOfAddress('no-at-sign')).toBeNull();
    expect(domainAndParents('a.b.shop.example')).toEqual(['a.b.shop.example', 'b.shop.example', 'shop.example']);
  });

  it('validates domains and selectors as DNS names', () => {
    const parse = (input: object) => createSendingDomainSchema.safeParse({ generate: true, ...input });
    expect(parse({ domain: ' Shop.Example. ', selector: 'Mail2025' }).data).toEqual({
      domain: 'shop.example',
      selector: 'mail2025',
      generate: true,
    });
    for (const domain of [
      'localhost',
      'shop..example',
      '-shop.example',
      'shop.example/x',
      'bücher.example',
      `${'a'.repeat(64)}.example`,
    ]) {
      expect([domain, parse({ domain, selector: 's' }).success]).toEqual([domain, false]);
    }
    expect(parse({ domain: 'xn--bcher-kva.example', selector: 'a.b-c' }).success).toBe(true);
    expect(parse({ domain: 'shop.example', selector: 'a_b' }).error?.issues[0]?.path).toEqual(['selector']);
  });
});

describe('SPF suggestion', () => {
  it('lists public hosts and addresses, and says why the others are left out', () => {
    expect(
      spfSuggestion([
        'smtp.relay.example.net',
        '203.0.113.7',
        '[2001:db8::25]',
        '127.0.0.1',
        '10.1.2.3',
        'localhost',
        'mail.internal',
        'SMTP.relay.example.net',
      ])
    ).toEqual({
      mechanisms: ['a:smtp.relay.example.net', 'ip4:203.0.113.7', 'ip6:2001:db8::25'],
      skipped: [
        { host: '127.0.0.1', reason: 'a loopback or private address' },
        { host: '10.1.2.3', reason: 'a loopback or private address' },
        { host: 'localhost', reason: 'not a public host name' },
        { host: 'mail.internal', reason: 'not a public host name' },
      ],
    });
  });
});
