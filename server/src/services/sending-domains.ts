import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import type { ListResponse } from '../../../shared/contracts/common';
import {
  createSendingDomainSchema,
  dnsQuerySchema,
  listSendingDomainsQuerySchema,
  type DnsRecord,
  type SendingDomain,
  type SendingDomainDns,
} from '../../../shared/contracts/sending-domains';
import {
  DKIM_SIGNED_HEADERS,
  DkimKeyError,
  dkimRecordName,
  dkimRecordValue,
  dmarcRecordName,
  dmarcRecordValue,
  domainAndParents,
  domainOfAddress,
  generateDkimKey,
  importDkimKey,
  spfRecordValue,
  spfSuggestion,
  type DkimKeyPair,
} from '../engine/dkim';
import { checkDnsRecords, type ExpectedRecord } from '../engine/dns-check';
import type { DkimSigning } from '../engine/sending-engine';
import { createSendingDomainRepository, type SendingDomainEntity } from '../repositories/sending-domains';
import { createServerRepository } from '../repositories/servers';
import { getService } from '../utils/get-service';
import { createVersionedReload } from '../utils/versioned-reload';
import { fieldError, parseInput } from '../utils/validation';

/**
 * Sending domains and DKIM. The admin API registers a domain with its selector and key (generated
 * here, or imported and checked); the private key is encrypted with the runtime's secret box before
 * it is stored and never leaves this service except as the engine's signing options.
 *
 * Signing: every node keeps the domains in memory, keys decrypted once (`dkimFor()` is synchronous:
 * the engine asks it for each attempt). The map is loaded when the engine starts (`signer()`), and
 * kept current on every node by utils/versioned-reload.ts (at once on the node that made a change,
 * within seconds on the others).
 * Mail From a registered domain, or from a subdomain of one (signed d=<registered domain>, which
 * DMARC's relaxed alignment accepts), is signed; other mail goes out unsigned.
 */
const toDto = (row: SendingDomainEntity): SendingDomain => ({
  documentId: row.documentId,
  domain: row.domain,
  selector: row.selector,
  publicKey: row.publicKey,
  keyBits: row.keyBits,
  keySource: row.keySource,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

const sendingDomains = ({ strapi }: { strapi: Core.Strapi }) => {
  const repository = createSendingDomainRepository(strapi);
  const secrets = () => getService(strapi, 'runtime').secrets();
  const engine = () => getService(strapi, 'engine');
  const warn = (message: string) => strapi.log.warn(`[multi-smtp] sending domains: ${message}`);

  let signings = new Map<string, DkimSigning>();
  const warnedDomains = new Set<string>();

  const load = async () => {
    const rows = await repository.findAll();
    const box = secrets();
    const next = new Map<string, DkimSigning>();
    for (const row of rows) {
      try {
        next.set(row.domain, {
          domainName: row.domain,
          keySelector: row.selector,
          privateKey: box.decrypt(row.privateKeyEncrypted),
          headerFieldNames: DKIM_SIGNED_HEADERS,
        });
        warnedDomains.delete(row.domain);
      } catch (error) {
        if (!warnedDomains.has(row.domain)) {
          warnedDomains.add(row.domain);
          strapi.log.error(
            `[multi-smtp] sending domain ${row.domain}: its DKIM key cannot be decrypted (${(error as Error).message}); its mail goes out unsigned`
          );
        }
      }
    }
    signings = next;
  };

  const reloads = createVersionedReload({
    versionKey: () => `${engine().keyPrefix()}:sending-domains:version`,
    redis: () => engine().redis(),
    running: () => engine().isRunning(),
    load,
    warn,
  });

  const requireDomain = async (documentId: string): Promise<SendingDomainEntity> => {
    const row = await repository.findOne(documentId);
    if (!row) throw new errors.NotFoundError(`Sending domain ${documentId} not found`);
    return row;
  };

  /** The key pair of a new domain; a bad imported key is a 400 on privateKey (its text never repeated). */
  const keyPairOf = async (generate: boolean | undefined, privateKey: string | undefined): Promise<DkimKeyPair> => {
    if (generate) return generateDkimKey();
    try {
      return importDkimKey(privateKey ?? '');
    } catch (error) {
      if (error instanceof DkimKeyError) fieldError('privateKey', error.message);
      throw error;
    }
  };

  /** The records to publish for a domain, with what each is for. */
  const recordsOf = async (row: SendingDomainEntity): Promise<Array<Omit<DnsRecord, 'check'> & ExpectedRecord>> => {
    const servers = await createServerRepository(strapi).findAll();
    const spf = spfSuggestion(servers.filter((server) => server.enabled ?? true).map((server) => server.host));
    const verpDomain = getService(strapi, 'runtime').config().bounces.verpDomain;
    const spfNote = [
      'A suggestion. SPF lists the hosts allowed to send mail for the domain; receivers check it against the envelope sender (MAIL FROM).',
      spf.mechanisms.length > 0
        ? `Built from the plugin's servers: ${spf.mechanisms.join(', ')} (a: allows a host's own address; if a server is a relay service, use the include: it documents instead).`
        : "No server host of the plugin can be listed: add the addresses your mail leaves from (ip4:, ip6:) or your provider's include:.",
      spf.skipped.length > 0
        ? `Left out: ${spf.skipped.map((skipped) => `${skipped.host} (${skipped.reason})`).join(', ')}.`
        : '',
      verpDomain
        ? `The envelope sender is at ${verpDomain} (bounces.verpDomain): SPF is checked there, so publish it at ${verpDomain}.`
        : '',
      'A domain may have only one SPF record: merge this into any it has.',
    ];
    return [
      {
        kind: 'dkim',
        type: 'TXT',
        name: dkimRecordName(row.selector, row.domain),
        value: dkimRecordValue(row.publicKey),
        note:
          `Required: the public key receivers check this domain's DKIM signatures with (selector ${row.selector}, ${row.keyBits}-bit RSA). ` +
          'Publish it as one TXT record; a DNS host that takes at most 255 characters per string splits it, and the parts are joined.',
      },
      {
        kind: 'spf',
        type: 'TXT',
        name: row.domain,
        value: spfRecordValue(spf.mechanisms),
        mechanisms: spf.mechanisms,
        note: spfNote.filter(Boolean).join(' '),
      },
      {
        kind: 'dmarc',
        type: 'TXT',
        name: dmarcRecordName(row.domain),
        value: dmarcRecordValue(row.domain),
        note:
          'A suggestion. DMARC tells receivers what to do with mail that passes neither aligned DKIM nor aligned SPF, and where to send reports (rua: use an address you read). ' +
          'Start with p=none, read the reports, then move to quarantine or reject.',
      },
    ];
  };

  let warnedEarly = false;

  /** The DKIM options for mail From this address (its domain's, or a parent domain's), or null: unsigned. */
  const dkimFor = (fromAddress: string): DkimSigning | null => {
    if (!reloads.loaded()) {
      // Only before the first load finished (the engine's first message can race it at boot).
      reloads.reloadSoon();
      if (!warnedEarly) warn(`a message From ${fromAddress} went out before the sending domains were loaded: unsigned`);
      warnedEarly = true;
      return null;
    }
    if (reloads.staleWithoutPoll()) reloads.reloadSoon();
    if (signings.size === 0) return null;
    const domain = domainOfAddress(fromAddress);
    if (!domain) return null;
    for (const candidate of domainAndParents(domain)) {
      const signing = signings.get(candidate);
      if (signing) return signing;
    }
    return null;
  };

  return {
    async list(query: unknown): Promise<ListResponse<SendingDomain>> {
      const { page, pageSize, sort, q } = parseInput(listSendingDomainsQuerySchema, query);
      const filters: Record<string, unknown> = q ? { domain: { $containsi: q } } : {};
      const { results, total } = await repository.findPage({
        filters,
        sort,
        start: (page - 1) * pageSize,
        limit: pageSize,
      });
      return {
        data: results.map(toDto),
        meta: { pagination: { page, pageSize, pageCount: Math.ceil(total / pageSize), total } },
      };
    },

    async get(documentId: string): Promise<SendingDomain> {
      return toDto(await requireDomain(documentId));
    },

    async create(input: unknown): Promise<SendingDomain> {
      const { domain, selector, generate, privateKey } = parseInput(createSendingDomainSchema, input);
      const pair = await keyPairOf(generate, privateKey);
      const created = await strapi.db.transaction(async () => {
        if (await repository.findByDomain(domain)) fieldError('domain', 'is already registered');
        return repository.create({
          domain,
          selector,
          privateKeyEncrypted: secrets().encrypt(pair.privateKeyPem),
          publicKey: pair.publicKey,
          keyBits: pair.bits,
          keySource: generate ? 'generated' : 'imported',
        });
      });
      await reloads.changed();
      return toDto(created);
    },

    async delete(documentId: string): Promise<void> {
      await requireDomain(documentId);
      await repository.delete(documentId);
      await reloads.changed();
    },

    /** The DNS records to publish for a domain and, unless `check=false`, what DNS says of each. */
    async dns(documentId: string, query: unknown): Promise<SendingDomainDns> {
      const { check } = parseInput(dnsQuerySchema, query);
      const row = await requireDomain(documentId);
      const expected = await recordsOf(row);
      const records: DnsRecord[] = expected.map(({ mechanisms: _mechanisms, ...record }) => ({
        ...record,
        check: null,
      }));
      if (check === 'false') return { domain: row.domain, selector: row.selector, records, lookup: null };
      const result = await checkDnsRecords(expected);
      return {
        domain: row.domain,
        selector: row.selector,
        records: records.map((record, index) => ({ ...record, check: result.checks[index] ?? null })),
        lookup: {
          reachable: result.reachable,
          message: result.message,
          checkedAt: new Date().toISOString(),
          durationMs: result.durationMs,
        },
      };
    },

    /**
     * The engine's signing hook, called once when the engine starts (services/engine.ts): loads the
     * domains now and keeps them current while the engine runs (see the top of this file).
     */
    signer(): (fromAddress: string) => DkimSigning | null {
      reloads.start();
      return dkimFor;
    },

    dkimFor,

    /** Waits for the loads asked for so far (tests, and callers that just changed a domain). */
    async ready(): Promise<void> {
      await reloads.ready();
    },

    /**
     * Re-encrypts every stored private key that is not under the current encryption key (after a
     * key rotation, like servers' passwords). Idempotent; returns counts, never a secret.
     */
    async reencryptPrivateKeys(): Promise<{ checked: number; reencrypted: number }> {
      const box = secrets();
      let reencrypted = 0;
      const rows = await repository.findAll();
      for (const row of rows) {
        if (box.isCurrent(row.privateKeyEncrypted)) continue;
        await repository.update(row.documentId, {
          privateKeyEncrypted: box.encrypt(box.decrypt(row.privateKeyEncrypted)),
        });
        reencrypted += 1;
      }
      if (reencrypted > 0) await reloads.changed();
      return { checked: rows.length, reencrypted };
    },
  };
};

export type SendingDomainsService = ReturnType<typeof sendingDomains>;
export default sendingDomains;
