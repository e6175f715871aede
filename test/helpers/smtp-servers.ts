/**
 * Real SMTP servers for tests, running in this process on 127.0.0.1.
 *
 * Built on the `smtp-server` package, so every test talks real SMTP over a real socket: the
 * sink records what it receives, and can be told to be slow, to require a password, to speak
 * TLS, to answer with chosen error codes, or to drop the connection in the middle of a message.
 *
 * ```ts
 * const server = await startSmtpServer({ auth: { username: 'u', password: 'p' } });
 * // ... send to server.host:server.port ...
 * const [message] = await server.waitForMessages(1);
 * await server.close();
 * ```
 */
import net from 'node:net';
import type tls from 'node:tls';

import { simpleParser, type ParsedMail } from 'mailparser';
import { generate as generateCertificate } from 'selfsigned';
import {
  SMTPServer,
  type SMTPServerAddress,
  type SMTPServerAuthentication,
  type SMTPServerAuthenticationResponse,
  type SMTPServerDataStream,
  type SMTPServerError,
  type SMTPServerOptions,
  type SMTPServerSession,
} from 'smtp-server';

/** The address every test server listens on. */
export const LOOPBACK = '127.0.0.1';

/** A message the server accepted (answered 250 to the end of DATA). */
export interface CapturedMessage {
  /** Envelope sender (MAIL FROM), '' for the null sender. */
  from: string;
  /** Envelope recipients (RCPT TO) the server accepted. */
  to: string[];
  /** The message exactly as received, headers and body. */
  raw: string;
  subject?: string;
  text?: string;
  html?: string;
  messageId?: string;
  /** Header values by lower-case name, unfolded; a repeated header keeps its values joined by '\n'. */
  headers: Record<string, string>;
  /** The full mailparser result, for attachments and structured headers. */
  parsed: ParsedMail;
  /** Date.now() when the message was accepted. */
  receivedAt: number;
  session: {
    /** The username the client authenticated as, if it did. */
    user?: string;
    /** True when the message travelled over TLS (implicit or after STARTTLS). */
    secure: boolean;
    /** The name the client gave in EHLO/HELO. */
    heloName: string;
    remotePort: number;
    /** The client's IP address (a server's localAddress, when it sets one). */
    remoteAddress: string;
  };
}

/** The points of an SMTP session where a fault can be injected. */
export type FaultStage = 'connect' | 'auth' | 'mail' | 'rcpt' | 'data';

/**
 * Make the server answer a stage with an error reply instead of going on normally.
 *
 * The reply is `<code> <enhanced> <text>`, e.g. `550 5.1.1 <x@y>: Recipient address rejected: User unknown`.
 * A 421 reply also closes the connection, as real servers do.
 */
export interface Fault {
  stage: FaultStage;
  /** The SMTP reply code: 421, 450, 451, 452, 454, 535, 550, 552, 553, 554... */
  code: number;
  /** The enhanced status code written after the reply code; a usual one for `code` when omitted. */
  enhanced?: string;
  /** The reply text after the enhanced code; a usual one for `code` when omitted. */
  text?: string;
  /** rcpt only: refuse only these addresses (case-insensitive); every recipient when omitted. */
  recipients?: string[];
  /** Apply to the first N matching events only, then behave normally; forever when omitted. */
  times?: number;
}

export type DelayStage = 'connect' | 'mail' | 'rcpt' | 'data';

export interface SmtpServerOptions {
  /** Require AUTH PLAIN or LOGIN with these credentials (535 for anything else). No AUTH at all when omitted. */
  auth?: { username: string; password: string };
  /**
   * - 'none' (default): plain SMTP, STARTTLS not offered (a STARTTLS command gets 500).
   * - 'starttls': offer STARTTLS with a self-signed certificate.
   * - 'implicit': TLS from the first byte, with a self-signed certificate.
   */
  tls?: 'none' | 'starttls' | 'implicit';
  /** Error replies to give; see {@link Fault}. */
  faults?: Fault[];
  /** Destroy the socket as soon as the message body starts arriving, before the end of DATA is answered. */
  dropMidData?: boolean | { times: number };
  /**
   * Be slow: wait this long before answering. A number delays every stage; an object only the stages it names.
   * 'connect' delays the greeting, 'mail'/'rcpt' the reply to MAIL FROM/RCPT TO, 'data' the reply to the end of the message.
   */
  delayMs?: number | Partial<Record<DelayStage, number>>;
  /** Refuse connections beyond this many at once with a 421. */
  maxClients?: number;
  /** Largest message accepted (announced in EHLO SIZE); larger ones get 552. */
  maxMessageBytes?: number;
}

export interface TestSmtpServer {
  readonly host: typeof LOOPBACK;
  readonly port: number;
  /** The security mode a client must use to talk to this server. */
  readonly security: 'none' | 'starttls' | 'tls';
  /** Every accepted message, oldest first. */
  readonly messages: CapturedMessage[];
  /** TCP connections accepted since start (or the last reset). */
  readonly connections: number;
  /** Connections open right now. */
  readonly openConnections: number;
  /** The most connections that were open at the same time since start (or the last reset). */
  readonly peakConnections: number;
  /** Errors the server reported (failed TLS handshakes, client resets...); for debugging a test. */
  readonly serverErrors: Error[];
  /**
   * The most mail transactions with a recipient in `domain` that were in progress at the same time
   * (from its first RCPT TO in that domain to the server's answer to the end of DATA, or the
   * session's end), since start or the last reset: sends in flight toward a destination.
   */
  peakInFlightTo(domain: string): number;
  /** Resolve with the messages once at least `count` have arrived; reject after `timeoutMs` (default 5000). */
  waitForMessages(count: number, timeoutMs?: number): Promise<CapturedMessage[]>;
  /** Replace the faults (their `times` counters start afresh). */
  setFaults(faults: Fault[]): void;
  setDropMidData(drop: SmtpServerOptions['dropMidData']): void;
  setDelay(delayMs: SmtpServerOptions['delayMs']): void;
  /** Forget messages and counters, and go back to the faults, drop and delay given at start. */
  reset(): void;
  /** Stop listening and destroy every open connection. Safe to call twice. */
  close(): Promise<void>;
}

/** Usual enhanced code and text for a reply code, so a fault only needs its code. */
const USUAL_REPLIES: Record<number, { enhanced: string; text: string }> = {
  421: { enhanced: '4.3.2', text: 'Service not available, closing transmission channel' },
  450: { enhanced: '4.2.1', text: 'Mailbox temporarily unavailable' },
  451: { enhanced: '4.3.0', text: 'Temporary local problem, try again later' },
  452: { enhanced: '4.3.1', text: 'Insufficient system storage' },
  454: { enhanced: '4.7.0', text: 'Temporary authentication failure' },
  535: { enhanced: '5.7.8', text: 'Authentication credentials invalid' },
  550: { enhanced: '5.1.1', text: 'Recipient address rejected: User unknown' },
  552: { enhanced: '5.3.4', text: 'Message size exceeds fixed limit' },
  553: { enhanced: '5.1.3', text: 'Mailbox name not allowed' },
  554: { enhanced: '5.7.1', text: 'Message rejected as spam' },
};

/** An error smtp-server turns into the reply `<code> <text>`. */
function smtpReplyError(code: number, text: string): SMTPServerError {
  const error: SMTPServerError = new Error(text);
  error.responseCode = code;
  return error;
}

function faultReply(fault: Fault, address?: string): SMTPServerError {
  const usual = USUAL_REPLIES[fault.code];
  const enhanced = fault.enhanced ?? usual?.enhanced ?? `${String(fault.code).charAt(0)}.0.0`;
  let text = fault.text ?? usual?.text ?? 'Requested action not taken';
  // Real servers name the refused recipient, like Postfix: "<x@y>: Recipient address rejected: ..."
  if (fault.text === undefined && fault.stage === 'rcpt' && address) {
    text = `<${address}>: ${text}`;
  }
  return smtpReplyError(fault.code, `${enhanced} ${text}`);
}

let cachedCertificate: { key: string; cert: string } | undefined;

/**
 * A self-signed certificate for localhost / 127.0.0.1, made once per process (it takes a moment).
 * Pass `cert` as a client's `ca` to trust it.
 */
export function testCertificate(): { key: string; cert: string } {
  if (!cachedCertificate) {
    const pems = generateCertificate([{ name: 'commonName', value: 'localhost' }], {
      keySize: 2048,
      algorithm: 'sha256',
      days: 7,
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: LOOPBACK },
          ],
        },
      ],
    });
    cachedCertificate = { key: pems.private, cert: pems.cert };
  }
  return cachedCertificate;
}

/** A loopback port where nothing listens, for "connection refused" tests. */
export async function refusingPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, LOOPBACK, resolve);
  });
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A fault plus how many more times it may fire (Infinity when it has no `times`). */
interface ActiveFault {
  fault: Fault;
  remaining: number;
}

function activate(faults: Fault[] | undefined): ActiveFault[] {
  return (faults ?? []).map((fault) => ({ fault, remaining: fault.times ?? Number.POSITIVE_INFINITY }));
}

function dropBudget(drop: SmtpServerOptions['dropMidData']): number {
  if (drop === true) return Number.POSITIVE_INFINITY;
  if (drop && typeof drop === 'object') return drop.times;
  return 0;
}

function headersOf(parsed: ParsedMail): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { key, line } of parsed.headerLines) {
    // `line` is the raw "Name: value" (possibly folded); keep only the unfolded value.
    const value = line
      .slice(line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
    const name = key.toLowerCase();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}\n${value}`;
  }
  return headers;
}

/** Start a server on 127.0.0.1 and a free port. Close it in afterAll/afterEach. */
export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<TestSmtpServer> {
  const tlsMode = options.tls ?? 'none';

  // Mutable behaviour, changed by setFaults/setDropMidData/setDelay/reset.
  let faults = activate(options.faults);
  let dropsLeft = dropBudget(options.dropMidData);
  let delayMs = options.delayMs;

  const messages: CapturedMessage[] = [];
  const serverErrors: Error[] = [];
  let connectionCount = 0;
  let peakConnections = 0;
  const messageWaiters = new Set<() => void>();
  const pendingTimers = new Set<NodeJS.Timeout>();
  /** Recipient domains of each session's transaction in progress; in-flight count and peak per domain. */
  const transactionDomains = new Map<string, Set<string>>();
  const inFlightByDomain = new Map<string, number>();
  const peakByDomain = new Map<string, number>();
  function beginTransactionTo(sessionId: string, address: string): void {
    const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
    const domains = transactionDomains.get(sessionId) ?? new Set<string>();
    transactionDomains.set(sessionId, domains);
    if (domains.has(domain)) return;
    domains.add(domain);
    const inFlight = (inFlightByDomain.get(domain) ?? 0) + 1;
    inFlightByDomain.set(domain, inFlight);
    peakByDomain.set(domain, Math.max(peakByDomain.get(domain) ?? 0, inFlight));
  }
  function endTransaction(sessionId: string): void {
    for (const domain of transactionDomains.get(sessionId) ?? []) inFlightByDomain.set(domain, (inFlightByDomain.get(domain) ?? 1) - 1);
    transactionDomains.delete(sessionId);
  }

  // Open sockets by the client's port, so a session (which only knows the port) can be torn down.
  // `secure` is the TLS socket on top of `raw` once a handshake finished.
  const openSockets = new Map<number, { raw: net.Socket; secure?: tls.TLSSocket }>();

  function takeFault(stage: FaultStage, address?: string): SMTPServerError | null {
    const match = faults.find(
      ({ fault, remaining }) =>
        remaining > 0 &&
        fault.stage === stage &&
        (!fault.recipients ||
          (address !== undefined && fault.recipients.some((r) => r.toLowerCase() === address.toLowerCase())))
    );
    if (!match) return null;
    match.remaining -= 1;
    return faultReply(match.fault, address);
  }

  /** Run `next` after the configured delay for `stage` (right away when there is none). */
  function afterDelay(stage: DelayStage, next: () => void): void {
    const ms = typeof delayMs === 'number' ? delayMs : (delayMs?.[stage] ?? 0);
    if (ms <= 0) {
      next();
      return;
    }
    const timer = setTimeout(() => {
      pendingTimers.delete(timer);
      next();
    }, ms);
    pendingTimers.add(timer);
  }

  function notifyWaiters(): void {
    for (const check of [...messageWaiters]) check();
  }

  function dropConnection(remotePort: number): void {
    const sockets = openSockets.get(remotePort);
    // Destroy the top-most socket: tearing a TLS socket down from underneath is unsafe.
    (sockets?.secure ?? sockets?.raw)?.destroy();
  }

  async function captureMessage(raw: Buffer, session: SMTPServerSession): Promise<void> {
    const parsed = await simpleParser(raw);
    const { envelope } = session;
    messages.push({
      from: envelope.mailFrom ? envelope.mailFrom.address : '',
      to: envelope.rcptTo.map((recipient) => recipient.address),
      raw: raw.toString('utf8'),
      subject: parsed.subject,
      text: parsed.text,
      html: parsed.html === false ? undefined : parsed.html,
      messageId: parsed.messageId,
      headers: headersOf(parsed),
      parsed,
      receivedAt: Date.now(),
      session: {
        user: typeof session.user === 'string' ? session.user : undefined,
        secure: session.secure,
        heloName: session.hostNameAppearsAs,
        remotePort: session.remotePort,
        remoteAddress: session.remoteAddress,
      },
    });
    notifyWaiters();
  }

  const certificate = tlsMode === 'none' ? undefined : testCertificate();
  const disabledCommands: string[] = [];
  if (tlsMode !== 'starttls') disabledCommands.push('STARTTLS');
  if (!options.auth) disabledCommands.push('AUTH');

  const serverOptions: SMTPServerOptions = {
    secure: tlsMode === 'implicit',
    key: certificate?.key,
    cert: certificate?.cert,
    disabledCommands,
    authMethods: ['PLAIN', 'LOGIN'],
    // Tests authenticate over plain connections too.
    allowInsecureAuth: true,
    authOptional: !options.auth,
    // Reverse DNS of 127.0.0.1 can take up to 1.5 s; there is nothing to learn from it here.
    disableReverseLookup: true,
    maxClients: options.maxClients,
    size: options.maxMessageBytes,
    rejectOversized: options.maxMessageBytes !== undefined,
    banner: 'test server',
    // Don't wait 30 s for lingering clients when closing.
    closeTimeout: 100,
    logger: false,

    onConnect(session, callback) {
      const refusal = takeFault('connect');
      afterDelay('connect', () => callback(refusal));
    },

    onSecure(socket, session, callback) {
      const sockets = openSockets.get(session.remotePort);
      if (sockets && socket !== sockets.raw) {
        sockets.secure = socket as tls.TLSSocket;
        // Once wrapped in TLS, the raw socket may never emit 'close' itself; the TLS socket does.
        socket.once('close', () => openSockets.delete(session.remotePort));
      }
      callback();
    },

    onAuth(
      auth: SMTPServerAuthentication,
      _session: SMTPServerSession,
      callback: (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void
    ) {
      const fault = takeFault('auth');
      if (fault) return callback(fault);
      const expected = options.auth;
      if (expected && auth.username === expected.username && auth.password === expected.password) {
        return callback(null, { user: auth.username });
      }
      return callback(smtpReplyError(535, '5.7.8 Authentication credentials invalid'));
    },

    onMailFrom(_address: SMTPServerAddress, _session, callback) {
      const refusal = takeFault('mail');
      afterDelay('mail', () => callback(refusal));
    },

    onRcptTo(address: SMTPServerAddress, session, callback) {
      const refusal = takeFault('rcpt', address.address);
      if (!refusal) beginTransactionTo(session.id, address.address);
      afterDelay('rcpt', () => callback(refusal));
    },

    onClose(session) {
      endTransaction(session.id);
    },

    onData(stream: SMTPServerDataStream, session, callback) {
      if (dropsLeft > 0) {
        dropsLeft -= 1;
        // Cut the line as soon as the body starts arriving: the client never gets its final reply.
        stream.once('data', () => dropConnection(session.remotePort));
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('end', () => {
        // smtp-server answers 552 itself when the message is over `size`.
        if (stream.sizeExceeded) return callback(null);
        const refusal = takeFault('data');
        if (refusal)
          return afterDelay('data', () => {
            endTransaction(session.id);
            callback(refusal);
          });
        // Record the message before answering, so it is there as soon as the client sees 250.
        captureMessage(Buffer.concat(chunks), session).then(
          () =>
            afterDelay('data', () => {
              endTransaction(session.id);
              callback(null, `2.0.0 OK: queued as ${messages.length}`);
            }),
          (error: unknown) => callback(smtpReplyError(451, `4.3.0 Could not parse the message: ${String(error)}`))
        );
      });
    },
  };

  const smtp = new SMTPServer(serverOptions);
  // Without a listener an 'error' event (e.g. a client that rejects our certificate) would throw.
  smtp.on('error', (error) => serverErrors.push(error));

  smtp.server.on('connection', (raw: net.Socket) => {
    connectionCount += 1;
    const remotePort = raw.remotePort;
    if (remotePort === undefined) return;
    openSockets.set(remotePort, { raw });
    peakConnections = Math.max(peakConnections, openSockets.size);
    raw.once('close', () => openSockets.delete(remotePort));
  });

  await new Promise<void>((resolve, reject) => {
    smtp.server.once('error', reject);
    smtp.listen(0, LOOPBACK, () => {
      smtp.server.off('error', reject);
      resolve();
    });
  });
  const { port } = smtp.server.address() as net.AddressInfo;

  let closing: Promise<void> | undefined;

  return {
    host: LOOPBACK,
    port,
    security: tlsMode === 'implicit' ? 'tls' : tlsMode,
    messages,
    get connections() {
      return connectionCount;
    },
    get openConnections() {
      return openSockets.size;
    },
    get peakConnections() {
      return peakConnections;
    },
    serverErrors,
    peakInFlightTo(domain) {
      return peakByDomain.get(domain.toLowerCase()) ?? 0;
    },

    waitForMessages(count, timeoutMs = 5000) {
      return new Promise<CapturedMessage[]>((resolve, reject) => {
        const check = () => {
          if (messages.length < count) return;
          clearTimeout(timer);
          messageWaiters.delete(check);
          resolve([...messages]);
        };
        const timer = setTimeout(() => {
          messageWaiters.delete(check);
          reject(new Error(`Expected ${count} message(s) within ${timeoutMs} ms, got ${messages.length}`));
        }, timeoutMs);
        messageWaiters.add(check);
        check();
      });
    },

    setFaults(next) {
      faults = activate(next);
    },

    setDropMidData(drop) {
      dropsLeft = dropBudget(drop);
    },

    setDelay(next) {
      delayMs = next;
    },

    reset() {
      messages.length = 0;
      serverErrors.length = 0;
      connectionCount = 0;
      peakConnections = openSockets.size;
      peakByDomain.clear();
      for (const [domain, inFlight] of inFlightByDomain) peakByDomain.set(domain, inFlight);
      faults = activate(options.faults);
      dropsLeft = dropBudget(options.dropMidData);
      delayMs = options.delayMs;
    },

    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of pendingTimers) clearTimeout(timer);
        pendingTimers.clear();
        smtp.close(() => resolve());
        // smtp-server only ends sockets politely; destroy them so nothing keeps the process alive.
        for (const { raw, secure } of openSockets.values()) {
          secure?.destroy();
          raw.destroy();
        }
      });
      return closing;
    },
  };
}
