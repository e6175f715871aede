import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import type { z } from 'zod';

import type { ListResponse } from '../../../shared/contracts/common';
import {
  createServerSchema,
  imapMailboxSchema,
  listServersQuerySchema,
  updateServerSchema,
  type SmtpServer,
} from '../../../shared/contracts/servers';
import type { SmtpEndpoint } from '../engine/smtp-probe';
import { createGroupRepository } from '../repositories/groups';
import { createRoutingRuleRepository } from '../repositories/routing-rules';
import { createServerRepository } from '../repositories/servers';
import type { ImapMailboxEntity, ServerEntity } from '../repositories/types';
import { getService } from '../utils/get-service';
import { fieldError, parseInput, throwFieldErrors } from '../utils/validation';
import { toServerDto } from './mappers';

type ImapMailboxInput = z.output<typeof imapMailboxSchema>;

/** SMTP servers: validation, business rules and the API shape. Controllers stay thin. */
const servers = ({ strapi }: { strapi: Core.Strapi }) => {
  const repository = createServerRepository(strapi);
  const groups = createGroupRepository(strapi);
  const ruleRepository = createRoutingRuleRepository(strapi);
  const secrets = () => getService(strapi, 'runtime').secrets();

  const requireServer = async (documentId: string): Promise<ServerEntity> => {
    const server = await repository.findOne(documentId);
    if (!server) throw new errors.NotFoundError(`SMTP server ${documentId} not found`);
    return server;
  };

  /** Checks what zod cannot: a unique name and an existing group. */
  const checkReferences = async (data: { name?: string; group?: string | null }, exceptDocumentId?: string) => {
    if (data.name !== undefined && (await repository.findByName(data.name, exceptDocumentId))) {
      fieldError('name', 'is already used by another server');
    }
    if (data.group) {
      const group = await groups.findOne(data.group);
      if (!group) fieldError('group', 'does not exist');
    }
  };

  /**
   * A stored password only ever goes to the destination it was entered for. Changing where or how
   * the server connects (host, port, security, username, or turning certificate checks off) without
   * giving the password again is refused: otherwise a `servers.manage` user could point a server at
   * a host of their own and receive the old password in AUTH.
   */
  const checkPasswordDestination = (stored: ServerEntity, data: Record<string, unknown>, password: string | null | undefined) => {
    if (password !== undefined || !stored.passwordEncrypted) return;
    const moved: string[] = (['host', 'port', 'security', 'username'] as const).filter(
      (field) => data[field] !== undefined && (data[field] ?? null) !== (stored[field] ?? null)
    );
    if (data.tlsRejectUnauthorized === false && (stored.tlsRejectUnauthorized ?? true)) moved.push('tlsRejectUnauthorized');
    if (moved.length > 0) {
      fieldError('password', `must be entered again when ${moved.join(', ')} change (the stored password is never sent to a new destination), or set to null to remove it`);
    }
  };

  /** The password field of an input becomes the encrypted column: undefined keeps, null/'' clears. */
  const passwordColumn = (password: string | null | undefined) => {
    if (password === undefined) return {};
    return { passwordEncrypted: password ? secrets().encrypt(password) : null };
  };

  /**
   * The bounce mailbox of an input becomes its columns: the settings (JSON, no secret) and the
   * encrypted password. Undefined keeps both, null removes both. Its password follows the SMTP
   * password's rules: omitted keeps the stored one, but only for the same host, port, security and
   * username (never sent to a new destination); a mailbox needs one.
   */
  const imapColumns = (stored: ServerEntity | null, imap: ImapMailboxInput | null | undefined) => {
    if (imap === undefined) return {};
    if (imap === null) return { imap: null, imapPasswordEncrypted: null };
    const { password, ...settings } = imap;
    const kept = stored?.imap && password === undefined ? stored.imapPasswordEncrypted : null;
    if (kept && stored?.imap) {
      const moved = (['host', 'port', 'security', 'username'] as const).filter((field) => settings[field] !== stored.imap![field]);
      if (moved.length > 0) {
        throwFieldErrors([
          {
            path: ['imap', 'password'],
            message: `must be entered again when ${moved.join(', ')} change (the stored password is never sent to a new destination)`,
            name: 'ValidationError',
          },
        ]);
      }
    }
    const encrypted = password ? secrets().encrypt(password) : kept;
    if (!encrypted) throwFieldErrors([{ path: ['imap', 'password'], message: 'is required for a bounce mailbox', name: 'ValidationError' }]);
    return { imap: settings, imapPasswordEncrypted: encrypted };
  };

  return {
    async list(query: unknown): Promise<ListResponse<SmtpServer>> {
      const { page, pageSize, sort, q, group, enabled } = parseInput(listServersQuerySchema, query);
      const filters: Record<string, unknown> = {};
      if (q) filters.$or = [{ name: { $containsi: q } }, { host: { $containsi: q } }];
      if (group === 'none') filters.group = { id: { $null: true } };
      else if (group) filters.group = { documentId: { $eq: group } };
      if (enabled) filters.enabled = { $eq: enabled === 'true' };

      const { results, total } = await repository.findPage({ filters, sort, start: (page - 1) * pageSize, limit: pageSize });
      return {
        data: results.map(toServerDto),
        meta: { pagination: { page, pageSize, pageCount: Math.ceil(total / pageSize), total } },
      };
    },

    async get(documentId: string): Promise<SmtpServer> {
      return toServerDto(await requireServer(documentId));
    },

    async create(input: unknown): Promise<SmtpServer> {
      const { password, imap, ...data } = parseInput(createServerSchema, input);
      return strapi.db.transaction(async () => {
        await checkReferences(data);
        const created = await repository.create({ ...data, ...passwordColumn(password), ...imapColumns(null, imap) });
        return toServerDto(created);
      });
    },

    async update(documentId: string, input: unknown): Promise<SmtpServer> {
      const { password, imap, ...data } = parseInput(updateServerSchema, input);
      return strapi.db.transaction(async () => {
        const stored = await requireServer(documentId);
        checkPasswordDestination(stored, data, password);
        await checkReferences(data, documentId);
        const updated = await repository.update(documentId, { ...data, ...passwordColumn(password), ...imapColumns(stored, imap) });
        return toServerDto(updated);
      });
    },

    /** Refuses to delete a server a routing rule sends to (its mail would silently go elsewhere). */
    async delete(documentId: string): Promise<void> {
      await requireServer(documentId);
      const rules = await ruleRepository.findTargeting('server', documentId);
      if (rules.length > 0) {
        throw new errors.ApplicationError(
          `This server is the target of routing rule(s): ${rules.map((rule) => rule.name).join(', ')}; change or delete them first`
        );
      }
      await repository.delete(documentId);
    },

    /**
     * Re-encrypts every stored password that is not under the current encryption key (after a key
     * rotation; the old key must still be in previousEncryptionKeys). Idempotent: a second run finds
     * nothing to do. Returns how many were looked at and re-encrypted; never a secret.
     */
    async reencryptPasswords(): Promise<{ checked: number; reencrypted: number }> {
      const box = secrets();
      let checked = 0;
      let reencrypted = 0;
      for (const server of await repository.findAll()) {
        for (const column of ['passwordEncrypted', 'imapPasswordEncrypted'] as const) {
          const stored = server[column];
          if (!stored) continue;
          checked += 1;
          if (box.isCurrent(stored)) continue;
          await repository.update(server.documentId, { [column]: box.encrypt(box.decrypt(stored)) });
          reencrypted += 1;
        }
      }
      return { checked, reencrypted };
    },

    /** Every server's bounce mailbox with its password decrypted; for the poller only, never a response. */
    async imapMailboxes(): Promise<Array<{ server: { documentId: string; name: string }; mailbox: ImapMailboxEntity & { password: string } }>> {
      const found = [];
      for (const server of await repository.findAll()) {
        if (!server.imap || !server.imapPasswordEncrypted) continue;
        found.push({
          server: { documentId: server.documentId, name: server.name },
          mailbox: { ...server.imap, password: secrets().decrypt(server.imapPasswordEncrypted) },
        });
      }
      return found;
    },

    /** Where and how to connect to a server, with its password decrypted; for the engine only, never a response. */
    async endpoint(documentId: string): Promise<{ server: ServerEntity; endpoint: SmtpEndpoint }> {
      const server = await requireServer(documentId);
      return {
        server,
        endpoint: {
          host: server.host,
          port: server.port,
          security: server.security,
          tlsRejectUnauthorized: server.tlsRejectUnauthorized ?? true,
          username: server.username ?? null,
          password: server.passwordEncrypted ? secrets().decrypt(server.passwordEncrypted) : null,
          localAddress: server.localAddress ?? null,
        },
      };
    },
  };
};

export type ServersService = ReturnType<typeof servers>;
export default servers;
