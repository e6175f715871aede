/**
 * The engine behind the admin's "Test connection" and "Send test email" buttons.
 *
 * Both talk real SMTP through nodemailer and turn whatever happens into a result the admin can
 * act on: which step failed, what the server answered, a machine code and a plain sentence.
 * They never throw and never put the password in a result.
 *
 * How a step is known: nodemailer's transaction log (the `logger` + `transactionLog` options)
 * reports every command we send and every reply we get. A {@link SessionTracker} follows that log,
 * so it always knows which step is running, how long each took and what the server said last.
 */
import net from 'node:net';
import { getSystemErrorName } from 'node:util';

import { createTransport, type Transporter } from 'nodemailer';
import type { Logger } from 'nodemailer/lib/shared';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';

import type { SecurityMode } from '../../../shared/contracts/servers';
import type { ConnectionTestResult, SmtpStep, StepTiming, TestEmailResult } from '../../../shared/contracts/tests';

/** Where and how to reach one SMTP server. */
export interface SmtpEndpoint {
  host: string;
  port: number;
  security: SecurityMode;
  /** Refuse certificates that don't verify (self-signed, expired, wrong name). */
  tlsRejectUnauthorized: boolean;
  /** Log in with AUTH when set. */
  username: string | null;
  password: string | null;
  /** Source IP of the connection (a host with several addresses); null or absent = the system's choice. */
  localAddress?: string | null;
}

export interface SmtpTimeouts {
  /** Opening the TCP connection (and, for implicit TLS, the handshake). */
  connectionTimeoutMs: number;
  /** From connected to the server's 220 greeting. */
  greetingTimeoutMs: number;
  /** Longest silence allowed once the session runs. */
  socketTimeoutMs: number;
  /** The name we give in EHLO; nodemailer uses this machine's host name when omitted. */
  ehloName?: string;
}

export interface TestEmailMessage {
  from: string | { name: string; address: string };
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/** An error as nodemailer reports it, plus what Node adds for socket errors. */
interface SmtpFailure {
  message: string;
  /** nodemailer's code (EAUTH, ETLS, ESOCKET...) or our own (ECONNREFUSED from our socket, ENOAUTH). */
  code?: string;
  /** The server's reply that caused the error, e.g. "535 5.7.8 Authentication credentials invalid". */
  response?: string;
  /** The SMTP command that failed: 'CONN', 'EHLO', 'AUTH PLAIN', 'MAIL FROM', 'RCPT TO', 'DATA', 'API'... */
  command?: string;
  /** Node's numeric errno for socket errors; nodemailer overwrites `code` but keeps this. */
  errno?: number;
  /** Recipients refused at RCPT (when every recipient was refused). */
  rejected?: string[];
}

/**
 * The nodemailer options for one endpoint. Shared with the sending engine so a test exercises
 * exactly the settings real mail will use.
 */
export function toTransportOptions(endpoint: SmtpEndpoint, timeouts: SmtpTimeouts): SMTPTransport.Options {
  return {
    host: endpoint.host,
    port: endpoint.port,
    // 'tls' = TLS from the first byte (usually port 465).
    secure: endpoint.security === 'tls',
    // 'starttls' = upgrade with STARTTLS, and fail rather than go on in clear text.
    requireTLS: endpoint.security === 'starttls',
    // 'none' = never upgrade, even when the server offers STARTTLS.
    ignoreTLS: endpoint.security === 'none',
    tls: { rejectUnauthorized: endpoint.tlsRejectUnauthorized },
    auth: endpoint.username ? { user: endpoint.username, pass: endpoint.password ?? '' } : undefined,
    name: timeouts.ehloName,
    connectionTimeout: timeouts.connectionTimeoutMs,
    greetingTimeout: timeouts.greetingTimeoutMs,
    socketTimeout: timeouts.socketTimeoutMs,
    dnsTimeout: timeouts.connectionTimeoutMs,
    ...(endpoint.localAddress ? { localAddress: endpoint.localAddress } : {}),
  };
}

/** The step a client command starts. Lines not listed (AUTH LOGIN's base64 answers) stay in the current step. */
const STEP_OF_COMMAND: Record<string, SmtpStep> = {
  EHLO: 'ehlo',
  HELO: 'ehlo',
  LHLO: 'ehlo',
  STARTTLS: 'starttls',
  AUTH: 'auth',
  MAIL: 'mail',
  RCPT: 'rcpt',
  DATA: 'data',
  QUIT: 'quit',
};

/** How a step is named in messages for the admin. */
const STEP_LABEL: Record<SmtpStep, string> = {
  connect: 'the connection',
  greeting: 'the greeting',
  ehlo: 'EHLO',
  starttls: 'STARTTLS',
  tls: 'the TLS handshake',
  auth: 'the login',
  mail: 'MAIL FROM',
  rcpt: 'RCPT TO',
  data: 'DATA',
  quit: 'QUIT',
};

/**
 * Follows one SMTP session through nodemailer's transaction log. Steps run back to back: each
 * lasts from its first command until the next step starts, so the current step is the one to
 * blame when something breaks.
 */
class SessionTracker {
  readonly steps: StepTiming[] = [];
  current: SmtpStep = 'connect';
  /** The last reply from the server, multi-line replies joined with '\n'. */
  lastReply: string | null = null;
  /** The EHLO keywords of the last EHLO reply (after STARTTLS, the ones offered over TLS). */
  capabilities: string[] = [];

  private readonly startedAt = performance.now();
  private currentStartedAt = this.startedAt;
  private currentOpen = true;

  /** Pass as nodemailer's `logger` together with `transactionLog: true`. */
  readonly logger: Logger = {
    level: () => undefined,
    trace: (entry: unknown, message: unknown) => this.onLog(entry, message),
    debug: (entry: unknown, message: unknown) => this.onLog(entry, message),
    info: (entry: unknown, message: unknown) => this.onLog(entry, message),
    warn: () => undefined,
    error: () => undefined,
    fatal: () => undefined,
  };

  get totalMs(): number {
    return Math.round(performance.now() - this.startedAt);
  }

  /** End the running step and start `step`. */
  enter(step: SmtpStep): void {
    this.finish();
    this.current = step;
    this.currentStartedAt = performance.now();
    this.currentOpen = true;
  }

  /** End the running step (its time goes into `steps`). */
  finish(): void {
    if (!this.currentOpen) return;
    this.currentOpen = false;
    this.steps.push({ step: this.current, ms: Math.round(performance.now() - this.currentStartedAt) });
  }

  /** Commands and replies are logged as the message itself: `debug({ tnx: 'client' }, 'EHLO me')`. */
  private onLog(entry: unknown, message: unknown): void {
    const tnx = (entry as { tnx?: unknown } | null)?.tnx;
    const text = typeof message === 'string' ? message : '';
    if (tnx === 'client') this.onCommand(text);
    else if (tnx === 'server') this.onReply(text);
    else if (tnx === 'network' && text.includes('established')) this.onConnected();
  }

  private onCommand(command: string): void {
    const verb = command.split(' ', 1)[0]?.toUpperCase() ?? '';
    const step = STEP_OF_COMMAND[verb];
    if (step && step !== this.current) this.enter(step);
  }

  private onReply(reply: string): void {
    this.lastReply = reply;
    if (this.current === 'ehlo' && reply.startsWith('250')) {
      // "250-mx.example.com Hello\n250-PIPELINING\n250 AUTH PLAIN LOGIN": the keywords follow the first line.
      this.capabilities = reply
        .split('\n')
        .slice(1)
        .map((line) => line.replace(/^\d{3}[ -]/, '').trim())
        .filter((line) => line.length > 0);
    }
    // "220 Ready to start TLS": the handshake starts now.
    if (this.current === 'starttls' && reply.startsWith('2')) this.enter('tls');
  }

  /** nodemailer has a working connection (after the handshake, for implicit TLS): the greeting is next. */
  private onConnected(): void {
    if (this.current === 'connect' || this.current === 'tls') this.enter('greeting');
  }
}

/**
 * Turn anything thrown or emitted into an {@link SmtpFailure}. Duck-typed on purpose: errors made by
 * Node core can come from another realm (e.g. under jest), where `instanceof Error` is false.
 */
function asFailure(error: unknown): SmtpFailure {
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    return error as SmtpFailure;
  }
  return { message: String(error) };
}

function failure(code: string, message: string): SmtpFailure {
  return { code, message };
}

/** TLS problems lose their own code inside nodemailer (it becomes ESOCKET), so they are recognised by their text. */
function isTlsProblem(error: SmtpFailure): boolean {
  return (
    error.code === 'ETLS' ||
    /certificate|self[- ]signed|\bssl\b|\btls\b|wrong version number|handshake|unable to verify/i.test(error.message)
  );
}

/** The error's machine code, with the original socket code recovered where nodemailer replaced it. */
function errorCodeOf(error: SmtpFailure): string {
  if (isTlsProblem(error)) return 'ETLS';
  if ((error.code === 'ESOCKET' || error.code === undefined) && typeof error.errno === 'number' && error.errno < 0) {
    try {
      return getSystemErrorName(error.errno);
    } catch {
      // not a system errno after all
    }
  }
  return error.code ?? 'EUNKNOWN';
}

/** The step to blame: the command nodemailer names when it is specific, else the step that was running. */
function failedStepOf(error: SmtpFailure, code: string, running: SmtpStep): SmtpStep {
  if (code === 'EAUTH' || code === 'ENOAUTH') return 'auth';
  const command = error.command?.toUpperCase() ?? '';
  const verb = command.split(' ', 1)[0] ?? '';
  const fromCommand = STEP_OF_COMMAND[verb];
  // A STARTTLS error once the handshake started belongs to 'tls'.
  if (fromCommand && !(fromCommand === 'starttls' && running === 'tls')) return fromCommand;
  // For implicit TLS the handshake is part of nodemailer's connect.
  if (code === 'ETLS' && running === 'connect') return 'tls';
  return running;
}

function isTemporary(reply: string | null): boolean {
  return reply !== null && reply.startsWith('4');
}

interface ExplainContext {
  endpoint: SmtpEndpoint;
  timeouts: SmtpTimeouts;
  step: SmtpStep;
  code: string;
  reply: string | null;
  error: SmtpFailure;
  /** What the server offered in EHLO, to tell "STARTTLS not offered" from "STARTTLS refused". */
  capabilities: string[];
  envelope?: { from: string; to: string };
}

/** A sentence for the admin: what went wrong and what to check. */
function explain(context: ExplainContext): string {
  const { endpoint, timeouts, step, code, reply, error, capabilities, envelope } = context;
  const where = `${endpoint.host}:${endpoint.port}`;
  const answered = reply ? ` (${reply})` : '';
  const tryLater = isTemporary(reply) ? ' This is temporary: try again later.' : '';
  const untrustedHint = "Turn off 'verify certificate' only for a server you trust.";

  switch (code) {
    case 'ECONNREFUSED':
      return `Connection refused by ${where} — is the server running and the port right?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EDNS':
      return `The host name "${endpoint.host}" could not be resolved — check its spelling and the DNS.`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${endpoint.host} cannot be reached from this machine — check the address and any firewall in between.`;
    case 'ETIMEDOUT':
      if (step === 'connect') {
        return `No answer from ${where} within ${timeouts.connectionTimeoutMs} ms — check the host, the port and any firewall in between.`;
      }
      if (step === 'tls') {
        return `The TLS handshake with ${where} did not finish in time — is this really a TLS port?`;
      }
      if (step === 'greeting') {
        const implicitTlsHint =
          endpoint.security === 'tls' ? '' : ' If this is an implicit TLS port (usually 465), choose security "TLS".';
        return `${where} accepted the connection but sent no greeting within ${timeouts.greetingTimeoutMs} ms.${implicitTlsHint}`;
      }
      return `The server stopped answering during ${STEP_LABEL[step]} (nothing within ${timeouts.socketTimeoutMs} ms).`;
    case 'ETLS':
      if (/self[- ]signed|unable to verify|unable to get|issuer|untrusted/i.test(error.message)) {
        return `The certificate is not trusted (self-signed?). ${untrustedHint}`;
      }
      if (/expired|not yet valid/i.test(error.message)) {
        return `The server's certificate has expired or is not valid yet. ${untrustedHint}`;
      }
      if (/does not match|altnames|hostname/i.test(error.message)) {
        return `The certificate was not issued for "${endpoint.host}" — use the host name on the certificate. ${untrustedHint}`;
      }
      if (/wrong version number|packet length|unknown protocol|http request/i.test(error.message)) {
        return `${where} did not answer with TLS — it probably expects plain SMTP or STARTTLS (usually port 587 or 25): choose security "STARTTLS".`;
      }
      if (step === 'starttls') {
        const offered = capabilities.some((keyword) => keyword.toUpperCase() === 'STARTTLS');
        return offered
          ? `The server refused STARTTLS${answered}.${tryLater}`
          : `The server does not offer STARTTLS${answered}. Choose security "TLS" for an implicit TLS port (usually 465), or "None" only on a network you trust.`;
      }
      return `The TLS negotiation with ${where} failed: ${error.message}`;
    case 'EAUTH':
      if (!reply && /missing credentials/i.test(error.message)) {
        return 'A username is set but no password — enter the password.';
      }
      if (isTemporary(reply)) return `The server could not check the login right now${answered}.${tryLater}`;
      return reply ? `The server rejected the username or password${answered}.` : `The login failed: ${error.message}`;
    case 'ENOAUTH':
      return endpoint.security === 'none'
        ? 'The server does not offer AUTH on this connection, so the login cannot be checked. Many servers only offer it over TLS: choose security "STARTTLS" or "TLS".'
        : 'The server does not offer AUTH, so the login cannot be checked. Clear the username if this server needs no login.';
  }

  if (step === 'greeting' && reply) {
    return reply.startsWith('421')
      ? `The server is not accepting connections right now${answered} — try again later, or check that this machine's IP is allowed.`
      : `The server refused the session when it greeted us${answered}.${tryLater}`;
  }
  if (step === 'mail' && reply) {
    return `The server refused the sender${envelope ? ` ${envelope.from}` : ''}${answered}.${tryLater}`;
  }
  if (step === 'rcpt' && reply) {
    return `The server refused the recipient${envelope ? ` ${envelope.to}` : ''}${answered}.${tryLater}`;
  }
  if (step === 'data' && reply) {
    return `The server refused the message${answered}.${tryLater}`;
  }
  if (code === 'ECONNECTION' || code === 'ECONNRESET' || code === 'EPIPE') {
    return `The server closed the connection during ${STEP_LABEL[step]}${answered}.`;
  }
  return `${STEP_LABEL[step]} failed${answered}: ${error.message}`;
}

/** Remove the password from text we return, should a server ever echo it. Very short passwords are left alone. */
function withoutPassword(text: string, password: string | null): string {
  if (!password || password.length < 4) return text;
  return text.split(password).join('********');
}

function redactReply(reply: string | null, password: string | null): string | null {
  return reply === null ? null : withoutPassword(reply, password);
}

/** Open the TCP connection ourselves, so the connect step is timed on its own and its OS error code kept. */
function openSocket(host: string, port: number, timeoutMs: number, localAddress?: string | null): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, ...(localAddress ? { localAddress } : {}) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(failure('ETIMEDOUT', `Connection timeout after ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/**
 * Run one nodemailer operation that reports through a callback, and also settle on the
 * connection's 'error' and 'end' events, which is where nodemailer reports most failures.
 */
function runOperation(
  connection: SMTPConnection,
  operation: (done: (error?: SMTPConnection.SMTPError | null) => void) => void
): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      connection.off('error', onError);
      connection.off('end', onEnd);
      if (error) reject(error);
      else resolve();
    };
    const onError = (error: SMTPConnection.SMTPError) => settle(error);
    const onEnd = () => settle(failure('ECONNECTION', 'Connection closed unexpectedly'));
    connection.on('error', onError);
    connection.once('end', onEnd);
    operation((error) => settle(error ?? undefined));
  });
}

/** Send QUIT and wait (briefly) for the server to close; a missing answer to QUIT doesn't fail the test. */
function quit(connection: SMTPConnection, socket: net.Socket, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, graceMs);
    socket.once('close', done);
    connection.quit();
  });
}

/**
 * Connect, greet (EHLO), secure the line as `security` says, log in when a username is set, and
 * QUIT — the admin's "Test connection". Never throws: every failure comes back as a result.
 */
export async function testConnection(endpoint: SmtpEndpoint, timeouts: SmtpTimeouts): Promise<ConnectionTestResult> {
  const tracker = new SessionTracker();
  let socket: net.Socket | undefined;
  let connection: SMTPConnection | undefined;

  try {
    socket = await openSocket(endpoint.host, endpoint.port, timeouts.connectionTimeoutMs, endpoint.localAddress);
    tracker.enter(endpoint.security === 'tls' ? 'tls' : 'greeting');

    // The credentials go to login() below, after we know the server offers AUTH.
    const { auth: _auth, ...options } = toTransportOptions(endpoint, timeouts);
    connection = new SMTPConnection({
      ...options,
      // nodemailer speaks SMTP (and TLS, for 'tls') over the socket we opened.
      connection: socket,
      logger: tracker.logger,
      transactionLog: true,
    });
    // An 'error' between operations must not crash the process; runOperation reports it.
    connection.on('error', () => undefined);

    const smtp = connection;
    await runOperation(smtp, (done) => smtp.connect(done));

    if (endpoint.username) {
      const authOffered = tracker.capabilities.some((keyword) => /^AUTH\b/i.test(keyword));
      if (!authOffered) throw failure('ENOAUTH', 'The server does not offer AUTH');
      const credentials = { user: endpoint.username, pass: endpoint.password ?? '' };
      await runOperation(smtp, (done) => smtp.login(credentials, done));
    }

    tracker.enter('quit');
    await quit(smtp, socket, Math.min(timeouts.socketTimeoutMs, 2000));
    tracker.finish();

    const secured = endpoint.security === 'none' ? 'without encryption' : 'over TLS';
    const loggedIn = endpoint.username ? ` and logged in as ${endpoint.username}` : '';
    return {
      ok: true,
      failedStep: null,
      reply: redactReply(tracker.lastReply, endpoint.password),
      errorCode: null,
      message: withoutPassword(
        `Connected to ${endpoint.host}:${endpoint.port} ${secured}${loggedIn} in ${tracker.totalMs} ms.`,
        endpoint.password
      ),
      capabilities: tracker.capabilities,
      steps: tracker.steps,
      totalMs: tracker.totalMs,
    };
  } catch (thrown) {
    const error = asFailure(thrown);
    const code = errorCodeOf(error);
    const step = failedStepOf(error, code, tracker.current);
    const reply = error.response ?? null;
    tracker.finish();
    const message = explain({ endpoint, timeouts, step, code, reply, error, capabilities: tracker.capabilities });
    return {
      ok: false,
      failedStep: step,
      reply: redactReply(reply, endpoint.password),
      errorCode: code,
      message: withoutPassword(message, endpoint.password),
      capabilities: tracker.capabilities,
      steps: tracker.steps,
      totalMs: tracker.totalMs,
    };
  } finally {
    connection?.close();
    socket?.destroy();
  }
}

function addressOf(value: string | { address: string }): string {
  return typeof value === 'string' ? value : value.address;
}

/**
 * Send one message through a fresh (not pooled) nodemailer transport — the admin's
 * "Send test email". Never throws: a refusal or a broken connection comes back as a result.
 */
export async function sendTestEmail(
  endpoint: SmtpEndpoint,
  timeouts: SmtpTimeouts,
  message: TestEmailMessage
): Promise<TestEmailResult> {
  const tracker = new SessionTracker();
  const envelope = { from: addressOf(message.from), to: message.to };
  let transport: Transporter<SMTPTransport.SentMessageInfo> | undefined;

  try {
    transport = createTransport({
      ...toTransportOptions(endpoint, timeouts),
      logger: tracker.logger,
      transactionLog: true,
    });
    const info = await transport.sendMail({
      from: message.from,
      to: message.to,
      subject: message.subject,
      text: message.text,
      ...(message.html === undefined ? {} : { html: message.html }),
    });
    tracker.finish();
    const reply = info.response ?? tracker.lastReply;
    return {
      ok: true,
      accepted: info.accepted.map(addressOf),
      rejected: info.rejected.map(addressOf),
      failedStep: null,
      reply: redactReply(reply, endpoint.password),
      errorCode: null,
      message: withoutPassword(
        `${endpoint.host}:${endpoint.port} accepted the message for ${message.to} in ${tracker.totalMs} ms.`,
        endpoint.password
      ),
      messageId: info.messageId ?? null,
      totalMs: tracker.totalMs,
    };
  } catch (thrown) {
    const error = asFailure(thrown);
    const code = errorCodeOf(error);
    const step = failedStepOf(error, code, tracker.current);
    const reply = error.response ?? null;
    tracker.finish();
    // Refused at RCPT: nodemailer lists the refused addresses. Refused at DATA: the message didn't go to anyone.
    const rejected = error.rejected ?? (step === 'rcpt' || step === 'data' ? [message.to] : []);
    const explanation = explain({
      endpoint,
      timeouts,
      step,
      code,
      reply,
      error,
      capabilities: tracker.capabilities,
      envelope,
    });
    return {
      ok: false,
      accepted: [],
      rejected,
      failedStep: step,
      reply: redactReply(reply, endpoint.password),
      errorCode: code,
      message: withoutPassword(explanation, endpoint.password),
      messageId: null,
      totalMs: tracker.totalMs,
    };
  } finally {
    transport?.close();
  }
}
