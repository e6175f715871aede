import type { ServerConfig } from './directory';
import { toTransportOptions, type SmtpTimeouts } from './smtp-probe';
import { createPooledTransport } from './smtp-thread';
import { defaultSmtpThreads, SmtpThreadPool, type SmtpSender } from './smtp-threads';

/**
 * Open SMTP connections of this process, each holding one connection lease of its server in the
 * quota store. A connection is opened under a lease, kept open while sends keep coming, and closed
 * after `idleMs` without one, giving the lease back. So the number of connections open to a server,
 * across every process, never exceeds its maxConnections.
 *
 * Leases are short and renewed every `renewEveryMs` while this process lives (the way BullMQ renews
 * its job locks): a process killed without closing its connections holds their slots only until
 * its leases lapse, not for the length of the longest possible send.
 *
 * The leases live here, on the main thread; the SMTP itself (nodemailer's transports) runs in SMTP
 * threads (smtp-threads.ts) unless `threads` is 0. A connection whose thread died is closed like
 * any other (its lease returned): at once when idle, by the engine after its failed send when busy.
 */
export interface SmtpConnection {
  serverId: string;
  /** Settings version it was opened with; a changed server gets new connections. */
  version: string;
  leaseToken: string;
  /** The quota reservation of the send under way on it, renewed with the lease; null while idle. */
  reservationId: string | null;
  /**
   * A one-connection nodemailer pool: one TCP connection reused from send to send. On an SMTP
   * thread (smtp-threads.ts), or a nodemailer Transporter on this thread when threads are off.
   */
  transport: SmtpSender;
  idleTimer: NodeJS.Timeout | null;
  /** Its SMTP thread died: never handed out again. */
  dead: boolean;
}

export const createConnectionPool = (options: {
  timeouts: SmtpTimeouts;
  idleMs: number;
  releaseLease: (serverId: string, leaseToken: string) => Promise<void>;
  /** Renews the leases (and reservations) of one server's connections; answers the lease tokens that were lost. */
  renewLeases: (serverId: string, leaseTokens: string[], reservationIds: string[]) => Promise<string[]>;
  /** How often the leases of open connections are renewed (well under the lease length). */
  renewEveryMs: number;
  onError?: (error: unknown) => void;
  /** Called when a connection to the server is freed: back to idle, or closed with its lease returned. */
  onFreed?: (serverId: string) => void;
  /**
   * SMTP threads to run the transports on (plugin config smtp.threads); 0 sends on this thread.
   * Default: 1 on a machine with two cores or fewer, else one per core but one, at most 4.
   */
  threads?: number;
}) => {
  const threads = options.threads ?? defaultSmtpThreads();
  const smtpThreads = threads > 0 ? new SmtpThreadPool({ size: threads }) : null;
  const idle = new Map<string, SmtpConnection[]>();
  const all = new Set<SmtpConnection>();
  let renewTimer: NodeJS.Timeout | null = null;
  /** Sends waiting a moment for a connection of these servers (see whenFreed). */
  const freedWaiters = new Set<{ serverIds: ReadonlySet<string>; wake: () => void }>();
  const signalFreed = (serverId: string) => {
    options.onFreed?.(serverId);
    for (const waiter of freedWaiters) if (waiter.serverIds.has(serverId)) waiter.wake();
  };

  /** One script call per server that has open connections; idle connections whose lease was lost close at once. */
  const renewAll = async () => {
    const byServer = new Map<string, SmtpConnection[]>();
    for (const connection of all) byServer.set(connection.serverId, [...(byServer.get(connection.serverId) ?? []), connection]);
    await Promise.all(
      [...byServer].map(async ([serverId, held]) => {
        const reservations = held.flatMap((connection) => (connection.reservationId ? [connection.reservationId] : []));
        const lost = new Set(await options.renewLeases(serverId, held.map((connection) => connection.leaseToken), reservations));
        // A busy connection with a lost lease is found out at its next reserve (the lease is not held) and replaced.
        for (const connection of held) if (lost.has(connection.leaseToken) && connection.idleTimer) void close(connection);
      })
    );
  };
  const startRenewing = () => {
    if (renewTimer) return;
    renewTimer = setInterval(() => {
      renewAll().catch((error) => options.onError?.(error));
    }, options.renewEveryMs);
    renewTimer.unref?.();
  };

  const close = (connection: SmtpConnection) => {
    if (!all.delete(connection)) return Promise.resolve();
    if (connection.idleTimer) clearTimeout(connection.idleTimer);
    if (all.size === 0 && renewTimer) {
      clearInterval(renewTimer);
      renewTimer = null;
    }
    const list = idle.get(connection.serverId);
    if (list) idle.set(connection.serverId, list.filter((entry) => entry !== connection));
    connection.transport.close();
    return options
      .releaseLease(connection.serverId, connection.leaseToken)
      .catch((error) => options.onError?.(error))
      // Its slot is free in Redis now: a send waiting here for one may take it.
      .finally(() => signalFreed(connection.serverId));
  };

  return {
    /** An idle connection to this server (same settings), if this process has one. */
    take(server: ServerConfig): SmtpConnection | undefined {
      const list = idle.get(server.id);
      while (list && list.length > 0) {
        const connection = list.pop()!;
        if (connection.idleTimer) clearTimeout(connection.idleTimer);
        connection.idleTimer = null;
        if (connection.version === server.version && !connection.dead) return connection;
        void close(connection);
      }
      return undefined;
    },

    /** A new connection under a freshly reserved lease. */
    open(server: ServerConfig, leaseToken: string): SmtpConnection {
      const transportOptions = toTransportOptions(server.endpoint, options.timeouts);
      const onThreadDeath = () => {
        connection.dead = true;
        // Idle: closed now. Busy: its send fails (server-transient) and the engine discards it.
        if (connection.idleTimer) void close(connection);
      };
      const transport = smtpThreads?.open(transportOptions, onThreadDeath) ?? createPooledTransport(transportOptions);
      const connection: SmtpConnection = { serverId: server.id, version: server.version, leaseToken, reservationId: null, transport, idleTimer: null, dead: false };
      all.add(connection);
      startRenewing();
      return connection;
    },

    /** Back to idle after a send; closed (lease returned) if no send takes it within idleMs. */
    putBack(connection: SmtpConnection) {
      if (!all.has(connection)) return;
      if (connection.dead) {
        void close(connection);
        return;
      }
      connection.idleTimer = setTimeout(() => void close(connection), options.idleMs);
      connection.idleTimer.unref?.();
      const list = idle.get(connection.serverId) ?? [];
      list.push(connection);
      idle.set(connection.serverId, list);
      signalFreed(connection.serverId);
    },

    /**
     * Resolves when this process next frees a connection to one of these servers (back to idle, or
     * closed with its lease returned), or after `ms`. A send refused for busy connections waits on
     * this rather than polling: a poll every few hundred ms loses every time to the sends that take
     * a freed connection at once, and a message failed over from a dead server would starve behind
     * fresh mail (test/integration/faults.test.ts). Other processes' connections are not seen here:
     * `ms` covers them.
     */
    whenFreed(serverIds: ReadonlySet<string>, ms: number): Promise<void> {
      return new Promise((resolve) => {
        const waiter = {
          serverIds,
          wake: () => {
            clearTimeout(timer);
            freedWaiters.delete(waiter);
            resolve();
          },
        };
        const timer = setTimeout(waiter.wake, Math.max(0, ms));
        freedWaiters.add(waiter);
      });
    },

    /** Closes a connection now (server trouble, or its lease was lost) and returns its lease. */
    discard(connection: SmtpConnection) {
      return close(connection);
    },

    /** Closes the connections of servers that are gone from the directory. */
    retain(serverIds: Set<string>) {
      for (const connection of [...all]) if (!serverIds.has(connection.serverId) && connection.idleTimer) void close(connection);
    },

    /** Closes every connection (leases returned) and stops the SMTP threads. */
    async closeAll() {
      await Promise.all([...all].map((connection) => close(connection)));
      await smtpThreads?.close();
    },

    /** The SMTP threads (null when sending on this thread): for tests and metrics. */
    smtpThreads,
  };
};

export type ConnectionPool = ReturnType<typeof createConnectionPool>;
