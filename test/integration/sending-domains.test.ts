import { createPublicKey, generateKeyPairSync } from 'node:crypto';

import type { Core } from '@strapi/strapi';
import type Redis from 'ioredis';
// mailauth 4 ships no types for its DKIM verifier.
const { dkimVerify } = require('mailauth/lib/dkim/verify') as {
  dkimVerify(
    raw: string,
    options: { resolver: (name: string, type: string) => Promise<string[][]> }
  ): Promise<{ results: DkimResult[] }>;
};

import type { SendingDomain, SendingDomainDns } from '../../shared/contracts/sending-domains';
import { testRedis } from '../helpers/redis';
import { startSmtpServer, type CapturedMessage, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

interface DkimResult {
  signingDomain: string;
  selector: string;
  signingHeaders: { keys: string };
  status: { result: string; comment?: string };
}

type Mailer = { send(message: object, options?: object): Promise<{ id: string; status: string }> };

const UID = 'plugin::multi-smtp.sending-domain';
const LIST_UNSUBSCRIBE = {
  'List-Unsubscribe': '<https://shop.example/unsubscribe/abc>, <mailto:unsubscribe@shop.example?subject=abc>',
  'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
};

/** A TXT answer for mailauth from the DNS records the API says to publish; anything else is NXDOMAIN. */
const resolverFor = (records: Map<string, string>) => async (name: string, type: string) => {
  const value = type === 'TXT' ? records.get(name.toLowerCase()) : undefined;
  if (value === undefined) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  // As DNS hands out a long TXT record: strings of at most 255 characters.
  return [value.match(/.{1,255}/g) ?? []];
};

const pemBody = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
/** A piece of a private key's PEM from its end (primes and coefficients; its start shares the modulus with the public key). */
const privatePart = (pem: string) => pemBody(pem).slice(-200, -120);

describe('sending domains and DKIM', () => {
  let app: TestStrapi;
  let strapi: Core.Strapi;
  let sink: TestSmtpServer;
  let mailer: Mailer;
  let redis: Redis;
  /** Every admin API response body of this file, to search for private keys at the end. */
  const bodies: string[] = [];
  /** Private keys (PEM bodies) that must never appear in a response. */
  const secrets: string[] = [];
  /** The DKIM TXT records published, as the DNS endpoint gave them. */
  const published = new Map<string, string>();

  const api = () => {
    const admin = asAdmin(app);
    const keep = async <T extends { body: unknown; text: string }>(request: PromiseLike<T>) => {
      const response = await request;
      bodies.push(response.text ?? '');
      return response;
    };
    return {
      get: (url: string) => keep(admin.get(`/multi-smtp${url}`)),
      post: (url: string, body?: object) => keep(admin.post(`/multi-smtp${url}`, body)),
      delete: (url: string) => keep(admin.delete(`/multi-smtp${url}`)),
    };
  };

  const register = (body: object) => api().post('/sending-domains', body);

  const publish = async (domain: SendingDomain) => {
    const dns = await api().get(`/sending-domains/${domain.documentId}/dns?check=false`);
    expect(dns.status).toBe(200);
    const dkim = (dns.body.data as SendingDomainDns).records.find((record) => record.kind === 'dkim')!;
    published.set(dkim.name, dkim.value);
  };

  const sendAndCapture = async (
    from: string,
    headers: Record<string, string> = LIST_UNSUBSCRIBE
  ): Promise<CapturedMessage> => {
    const before = sink.messages.length;
    const queued = await mailer.send({
      from,
      to: 'reader@inbox.example',
      subject: `From ${from}`,
      text: 'Hello',
      html: '<p>Hello</p>',
      headers,
    });
    const messages = await sink.waitForMessages(before + 1);
    const message = messages.find((captured) => captured.headers['x-multi-smtp-id'] === queued.id);
    expect(message).toBeDefined();
    return message!;
  };

  const verify = async (raw: string) => (await dkimVerify(raw, { resolver: resolverFor(published) })).results;

  beforeAll(async () => {
    sink = await startSmtpServer();
    app = await startStrapi({ pluginConfig: { retry: { attempts: 2, backoffMs: 200 } } });
    strapi = app.strapi;
    mailer = strapi.plugin('multi-smtp').service('mailer') as Mailer;
    redis = testRedis();
    const groups = await api().get('/groups');
    const created = await api().post('/servers', {
      name: 'sink',
      host: '127.0.0.1',
      port: sink.port,
      security: 'none',
      fromAddress: 'noreply@unsigned.example',
      group: groups.body.data[0].documentId,
    });
    expect(created.status).toBe(201);
  });
  afterAll(async () => {
    await app?.stop();
    await sink?.close();
    redis?.disconnect();
  });

  let generated: SendingDomain;
  let imported: SendingDomain;

  it('generates a key pair: the response has the public key only, the row holds the private key encrypted', async () => {
    const response = await register({ domain: 'Shop.Example', selector: 'S2025', generate: true });
    expect(response.status).toBe(201);
    generated = response.body.data;
    expect(generated).toEqual({
      documentId: expect.any(String),
      domain: 'shop.example',
      selector: 's2025',
      publicKey: expect.stringMatching(/^MIIBIjAN[A-Za-z0-9+/]+=*$/),
      keyBits: 2048,
      keySource: 'generated',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });

    const row = await strapi.db.query(UID).findOne({ where: { documentId: generated.documentId } });
    expect(row.privateKeyEncrypted).toMatch(/^v1:[0-9a-f]{8}:/);
    expect(row.privateKeyEncrypted).not.toContain('PRIVATE KEY');
    const plain = strapi.plugin('multi-smtp').service('runtime').secrets().decrypt(row.privateKeyEncrypted) as string;
    expect(plain).toContain('-----BEGIN PRIVATE KEY-----');
    expect(pemBody(plain).length).toBeGreaterThan(1000);
    expect(createPublicKey(plain).export({ type: 'spki', format: 'der' }).toString('base64')).toBe(generated.publicKey);
    secrets.push(privatePart(plain));

    const listed = await api().get('/sending-domains');
    expect(listed.status).toBe(200);
    expect(listed.body.data).toEqual([generated]);
    expect((await api().get(`/sending-domains/${generated.documentId}`)).body.data).toEqual(generated);
  });

  it('imports a PEM private key (PKCS#1), deriving its public key', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    secrets.push(privatePart(pem));
    const response = await register({ domain: 'imported.example', selector: 'imp', privateKey: pem });
    expect(response.status).toBe(201);
    imported = response.body.data;
    expect(imported).toMatchObject({
      domain: 'imported.example',
      selector: 'imp',
      keyBits: 2048,
      keySource: 'imported',
    });
    expect(imported.publicKey).toBe(
      createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64')
    );
  });

  it('refuses bad input with a 400 naming the field, without repeating the key', async () => {
    const { privateKey: ecKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const { privateKey: smallKey } = generateKeyPairSync('rsa', { modulusLength: 512 });
    const { privateKey: lockedKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const brokenPem = `-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7broken\n-----END PRIVATE KEY-----`;
    const cases: Array<[object, string]> = [
      [{ domain: 'bad.example', selector: 's', privateKey: 'not a key at all' }, 'privateKey'],
      [{ domain: 'bad.example', selector: 's', privateKey: brokenPem }, 'privateKey'],
      [
        { domain: 'bad.example', selector: 's', privateKey: ecKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
        'privateKey',
      ],
      [
        {
          domain: 'bad.example',
          selector: 's',
          privateKey: smallKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        },
        'privateKey',
      ],
      [
        {
          domain: 'bad.example',
          selector: 's',
          privateKey: lockedKey
            .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
            .toString(),
        },
        'privateKey',
      ],
      [{ domain: 'bad.example', selector: 's' }, 'privateKey'],
      [{ domain: 'bad.example', selector: 's', generate: true, privateKey: brokenPem }, 'privateKey'],
      [{ domain: 'not a domain', selector: 's', generate: true }, 'domain'],
      [{ domain: 'localhost', selector: 's', generate: true }, 'domain'],
      [{ domain: 'shop.example', selector: 's', generate: true }, 'domain'],
      [{ domain: 'bad.example', selector: 'a_b', generate: true }, 'selector'],
      [{ domain: 'bad.example', selector: 's', generate: true, dkimKey: 'x' }, 'dkimKey'],
    ];
    for (const [body, field] of cases) {
      const response = await register(body);
      expect([
        JSON.stringify(body).slice(0, 60),
        response.status,
        response.body.error?.details?.errors?.[0]?.path,
      ]).toEqual([JSON.stringify(body).slice(0, 60), 400, [field]]);
      const key = (body as { privateKey?: string }).privateKey;
      if (key && pemBody(key).length > 100) expect(response.text).not.toContain(privatePart(key));
      expect(response.text).not.toContain('MII');
    }
    expect(await strapi.db.query(UID).count()).toBe(2);
  });

  it('shows the DNS records to publish and checks them without hanging', async () => {
    const records = await api().get(`/sending-domains/${generated.documentId}/dns?check=false`);
    expect(records.status).toBe(200);
    const data: SendingDomainDns = records.body.data;
    expect(data.lookup).toBeNull();
    expect(data.records.map((record) => [record.kind, record.type, record.name, record.check])).toEqual([
      ['dkim', 'TXT', 's2025._domainkey.shop.example', null],
      ['spf', 'TXT', 'shop.example', null],
      ['dmarc', 'TXT', '_dmarc.shop.example', null],
    ]);
    expect(data.records[0]!.value).toBe(`v=DKIM1; k=rsa; p=${generated.publicKey}`);
    // The only server is on loopback: nothing to list, and the note says why.
    expect(data.records[1]!.value).toBe('v=spf1 ~all');
    expect(data.records[1]!.note).toContain('127.0.0.1 (a loopback or private address)');
    expect(data.records[2]!.value).toBe('v=DMARC1; p=none; rua=mailto:dmarc-reports@shop.example');

    const started = Date.now();
    const checked = await api().get(`/sending-domains/${generated.documentId}/dns`);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(checked.status).toBe(200);
    const result: SendingDomainDns = checked.body.data;
    expect(result.lookup).toEqual({
      reachable: expect.any(Boolean),
      message: expect.any(String),
      checkedAt: expect.any(String),
      durationMs: expect.any(Number),
    });
    for (const record of result.records) {
      expect(record.check).toEqual({
        status: expect.stringMatching(/^(match|different|missing|unreachable)$/),
        found: expect.any(Array),
        message: expect.any(String),
      });
    }
    // Nothing is published for shop.example anywhere: with DNS each record is missing; without
    // (as on a machine with no internet), each says DNS is not reachable rather than missing.
    if (result.lookup!.reachable) {
      expect(result.records.map((record) => record.check!.status)).toEqual(['missing', 'missing', 'missing']);
    } else {
      expect(result.lookup!.message).toMatch(/^DNS not reachable: /);
      for (const record of result.records) {
        expect(record.check).toMatchObject({
          status: 'unreachable',
          message: expect.stringMatching(/^DNS not reachable: /),
        });
      }
    }
    expect((await api().get(`/sending-domains/${generated.documentId}/dns?check=maybe`)).status).toBe(400);
    expect((await api().get('/sending-domains/nosuchid0000000000000000/dns')).status).toBe(404);
  });

  it('signs mail From the domain (and its subdomains) on the server, List-Unsubscribe included; the signature verifies', async () => {
    await publish(generated);
    await publish(imported);

    const message = await sendAndCapture('Shop News <news@shop.example>');
    expect(message.headers['dkim-signature']).toBeDefined();
    const [result] = await verify(message.raw);
    expect(result).toMatchObject({ signingDomain: 'shop.example', selector: 's2025', status: { result: 'pass' } });
    const signed = result!.signingHeaders.keys.toLowerCase().split(/:\s*/);
    expect(signed).toEqual(
      expect.arrayContaining('from to subject date message-id list-unsubscribe list-unsubscribe-post'.split(' '))
    );
    expect(message.headers['dkim-signature']).toMatch(/h=[^;]*list-unsubscribe:list-unsubscribe-post/i);

    const sub = await sendAndCapture('alerts@mail.shop.example');
    expect(await verify(sub.raw)).toEqual([
      expect.objectContaining({ signingDomain: 'shop.example', status: expect.objectContaining({ result: 'pass' }) }),
    ]);

    const importedMail = await sendAndCapture('team@imported.example', {});
    expect(await verify(importedMail.raw)).toEqual([
      expect.objectContaining({
        signingDomain: 'imported.example',
        selector: 'imp',
        status: expect.objectContaining({ result: 'pass' }),
      }),
    ]);

    // A signature that does not verify is caught: the body changed after signing.
    const tampered = message.raw.replace(/Hello/g, 'Hullo');
    expect((await verify(tampered))[0]!.status.result).not.toBe('pass');
  });

  it('leaves mail from other domains unsigned', async () => {
    const other = await sendAndCapture('someone@unregistered.example');
    expect(other.headers['dkim-signature']).toBeUndefined();
    // Ends like a registered domain, but is not a subdomain of it.
    const lookalike = await sendAndCapture('x@notshop.example');
    expect(lookalike.headers['dkim-signature']).toBeUndefined();
  });

  it('picks up a domain another node registered, through the change counter in Redis', async () => {
    const service = strapi.plugin('multi-smtp').service('sendingDomains') as {
      dkimFor(from: string): { domainName: string } | null;
    };
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const box = strapi.plugin('multi-smtp').service('runtime').secrets();
    // As another node's service would: the row, then the counter.
    await strapi.documents(UID as never).create({
      data: {
        domain: 'other-node.example',
        selector: 'n2',
        privateKeyEncrypted: box.encrypt(pem),
        publicKey: createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64'),
        keyBits: 1024,
        keySource: 'imported',
      },
    });
    expect(service.dkimFor('a@other-node.example')).toBeNull();
    await redis.incr(`${app.redisPrefix}:sending-domains:version`);
    await waitFor('the other node’s domain', () => service.dkimFor('a@other-node.example'), 6000);
    expect(service.dkimFor('a@other-node.example')).toMatchObject({
      domainName: 'other-node.example',
      keySelector: 'n2',
    });
  });

  it('stops signing once the domain is deleted', async () => {
    const deleted = await api().delete(`/sending-domains/${generated.documentId}`);
    expect(deleted.status).toBe(204);
    expect((await api().get(`/sending-domains/${generated.documentId}`)).status).toBe(404);
    const after = await sendAndCapture('news@shop.example');
    expect(after.headers['dkim-signature']).toBeUndefined();
    // The other domain still signs.
    const still = await sendAndCapture('team@imported.example');
    expect((await verify(still.raw))[0]!.status.result).toBe('pass');
  });

  it('never put a private key in a response', () => {
    expect(bodies.length).toBeGreaterThan(10);
    for (const body of bodies) {
      expect(body).not.toMatch(/PRIVATE KEY-----\\n/);
      expect(body).not.toMatch(/privateKey(Encrypted)?"\s*:/);
      for (const secret of secrets) expect(body).not.toContain(secret);
    }
  });
});
