import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';

import type { ServerConfig } from './directory';
import { toTransportOptions, type SmtpTimeouts } from './smtp-probe';

/**
 * One pooled nodemailer transport per server and settings version, in this process. The pool size
 * is the server's maxConnections; the quota store's connection leases keep the total across all
 * processes within the same limit.
 */
export const createTransportPool = (timeouts: SmtpTimeouts) => {
  const pools = new Map<string, { version: string; transport: Transporter<SMTPPool.SentMessageInfo> }>();

  const close = (serverId: string) => {
    const entry = pools.get(serverId);
    if (!entry) return;
    pools.delete(serverId);
    entry.transport.close();
  };

  return {
    get(server: ServerConfig): Transporter<SMTPPool.SentMessageInfo> {
      const existing = pools.get(server.id);
      if (existing && existing.version === server.version) return existing.transport;
      close(server.id);
      const transport = nodemailer.createTransport({
        ...toTransportOptions(server.endpoint, timeouts),
        pool: true,
        maxConnections: server.maxConnections,
        // Keep sending on a connection; the server's own limits come first.
        maxMessages: 1000,
      } as SMTPPool.Options);
      pools.set(server.id, { version: server.version, transport });
      return transport;
    },

    /** Drops pools of servers that are gone from the directory. */
    retain(serverIds: Set<string>) {
      for (const id of [...pools.keys()]) if (!serverIds.has(id)) close(id);
    },

    closeAll() {
      for (const id of [...pools.keys()]) close(id);
    },
  };
};

export type TransportPool = ReturnType<typeof createTransportPool>;
