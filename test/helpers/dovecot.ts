/**
 * A real IMAP server for tests: Debian's dovecot (package dovecot-imapd), started from a minimal
 * config in a temporary folder, listening on 127.0.0.1 on a free port of 7500-7550, plain text
 * login allowed (loopback only), maildirs and its own state in the folder, run as the current user.
 * Stop it with stop(): the process is ended and the folder removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { ImapFlow } from 'imapflow';

export const DOVECOT_BINARY = process.env.MULTI_SMTP_TEST_DOVECOT ?? '/usr/sbin/dovecot';
const PORTS = { first: 7500, last: 7550 };

export interface TestImapUser {
  user: string;
  password: string;
}

export interface TestDovecot {
  host: string;
  port: number;
  users: TestImapUser[];
  /** A connected client logged in as this user (log out when done). */
  client(user: TestImapUser): Promise<ImapFlow>;
  /** Appends raw messages to a folder (created when missing), unread; returns their UIDs. */
  append(user: TestImapUser, folder: string, messages: string[]): Promise<number[]>;
  /** The folder's UIDVALIDITY. */
  uidValidity(user: TestImapUser, folder: string): Promise<string>;
  /** Every message of a folder: UID, flags and the first line of its subject. */
  list(user: TestImapUser, folder: string): Promise<Array<{ uid: number; flags: string[]; subject: string }>>;
  stop(): Promise<void>;
}

/** True when something accepts connections on the port. */
const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** A port of the range nobody listens on (tried by binding it). */
const freePort = async (): Promise<number> => {
  const offset = Math.floor(Math.random() * (PORTS.last - PORTS.first + 1));
  for (let index = 0; index <= PORTS.last - PORTS.first; index += 1) {
    const port = PORTS.first + ((offset + index) % (PORTS.last - PORTS.first + 1));
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${PORTS.first}-${PORTS.last} for dovecot`);
};

interface Account {
  name: string;
  uid: number;
  gid: number;
  group: string;
}

/** A user of /etc/passwd by name, with its primary group's name. */
const accountOf = (name: string): Account | null => {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.split(':')[0] === name);
  if (!line) return null;
  const [, , uid, gid] = line.split(':');
  const group =
    fs
      .readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((entry) => entry.split(':')[2] === gid)
      ?.split(':')[0] ?? name;
  return { name, uid: Number(uid), gid: Number(gid), group };
};

/**
 * Who dovecot's processes run as. As an ordinary user: that user for everything. As root (CI
 * containers): dovecot refuses root for its login and mail processes, so the users Debian's package
 * made (dovenull for logins, dovecot for the rest and the mail), or nobody.
 */
const accountsOf = (): { login: Account; internal: Account; mail: Account } => {
  const me = os.userInfo();
  if (me.uid !== 0) {
    const self = accountOf(me.username) ?? { name: me.username, uid: me.uid, gid: me.gid, group: me.username };
    return { login: self, internal: self, mail: self };
  }
  const nobody = accountOf('nobody')!;
  const internal = accountOf('dovecot') ?? nobody;
  return { login: accountOf('dovenull') ?? nobody, internal, mail: internal };
};

const configOf = (dir: string, port: number) => {
  const { login, internal, mail } = accountsOf();
  for (const folder of ['mail', 'home']) {
    fs.mkdirSync(path.join(dir, folder), { recursive: true });
    fs.chownSync(path.join(dir, folder), mail.uid, mail.gid);
  }
  return [
    'protocols = imap',
    'listen = 127.0.0.1',
    `base_dir = ${dir}/run`,
    `state_dir = ${dir}/state`,
    `instance_name = multi-smtp-test-${port}`,
    `log_path = ${dir}/dovecot.log`,
    `info_log_path = ${dir}/dovecot.log`,
    'ssl = no',
    'disable_plaintext_auth = no',
    'auth_mechanisms = plain login',
    `default_internal_user = ${internal.name}`,
    `default_internal_group = ${internal.group}`,
    `default_login_user = ${login.name}`,
    `first_valid_uid = ${mail.uid}`,
    `mail_location = maildir:${dir}/mail/%u`,
    'passdb {',
    '  driver = passwd-file',
    `  args = scheme=PLAIN username_format=%u ${dir}/users`,
    '}',
    'userdb {',
    '  driver = static',
    `  args = uid=${mail.uid} gid=${mail.gid} home=${dir}/home/%u`,
    '}',
    'service imap-login {',
    '  inet_listener imap {',
    '    address = 127.0.0.1',
    `    port = ${port}`,
    '  }',
    '  inet_listener imaps {',
    '    port = 0',
    '  }',
    '}',
    '',
  ].join('\n');
};

/** Starts dovecot with these users (plain passwords). Fails with dovecot's log when it does not come up. */
export const startDovecot = async (users: TestImapUser[]): Promise<TestDovecot> => {
  if (!fs.existsSync(DOVECOT_BINARY)) throw new Error(`${DOVECOT_BINARY} is missing: apt-get install dovecot-imapd`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'multi-smtp-dovecot-'));
  // dovecot's own users (when run as root) must reach the maildirs and the passwd-file.
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'dovecot.conf'), configOf(dir, port));
  fs.writeFileSync(path.join(dir, 'users'), users.map(({ user, password }) => `${user}:{PLAIN}${password}`).join('\n') + '\n', { mode: 0o644 });
  const logOf = () => {
    try {
      return fs.readFileSync(path.join(dir, 'dovecot.log'), 'utf8').slice(-2000);
    } catch {
      return '';
    }
  };

  let exited = false;
  let output = '';
  const child: ChildProcess = spawn(DOVECOT_BINARY, ['-F', '-c', path.join(dir, 'dovecot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    })
  );
  const deadline = Date.now() + 15_000;
  while (!(await answers(port))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`dovecot did not start on 127.0.0.1:${port}: ${output} ${logOf()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const client = async ({ user, password }: TestImapUser) => {
    const imap = new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user, pass: password }, logger: false, disableAutoIdle: true });
    imap.on('error', () => undefined);
    await imap.connect();
    return imap;
  };

  return {
    host: '127.0.0.1',
    port,
    users,
    client,
    async append(user, folder, messages) {
      const imap = await client(user);
      try {
        await imap.mailboxCreate(folder);
        const uids: number[] = [];
        for (const message of messages) {
          const appended = await imap.append(folder, Buffer.from(message.replace(/\r?\n/g, '\r\n'), 'latin1'), []);
          if (appended && appended.uid) uids.push(appended.uid);
        }
        return uids;
      } finally {
        await imap.logout().catch(() => imap.close());
      }
    },
    async uidValidity(user, folder) {
      const imap = await client(user);
      try {
        return String((await imap.mailboxOpen(folder)).uidValidity);
      } finally {
        await imap.logout().catch(() => imap.close());
      }
    },
    async list(user, folder) {
      const imap = await client(user);
      try {
        const status = await imap.mailboxCreate(folder).then(() => imap.mailboxOpen(folder));
        if (status.exists === 0) return [];
        const messages = await imap.fetchAll('1:*', { uid: true, flags: true, envelope: true });
        return messages.map((message) => ({ uid: message.uid, flags: [...(message.flags ?? [])].filter((flag) => flag !== '\\Recent').sort(), subject: message.envelope?.subject ?? '' }));
      } finally {
        await imap.logout().catch(() => imap.close());
      }
    },
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const killed = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exit;
        clearTimeout(killed);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
};
