/**
 * Counting SMTP sinks for the benchmark, run in their own child process so that counting does not
 * compete with the Strapi process for its event loop.
 *
 * A sink speaks just enough SMTP for nodemailer (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT),
 * answers 250 to every message and keeps, per sink: how many messages it accepted, when the first
 * and the last arrived, and the X-Multi-SMTP-ID header of each (to find duplicates across sinks).
 * No MIME parsing: only the header block is scanned for that one header.
 *
 * IPC (fork with an 'ipc' channel):
 *   argv[2]              how many sinks to start (default 4)
 *   -> { type: 'ready', ports: number[] }                  once every sink listens on 127.0.0.1
 *   <- { type: 'counts', requestId }
 *   -> { type: 'counts', requestId, sinks: SinkCounts[], uniqueIds, duplicates, cpuUs }
 *                                                          (cpuUs: CPU time this process used so far)
 *   <- { type: 'reset', requestId }                        forget all counts (a new phase starts)
 *   -> { type: 'reset', requestId }
 *   <- { type: 'close' }                                   close the sinks and exit
 *
 * SinkCounts = { port, messages, firstAt, lastAt, connections, openConnections, peakConnections } (times:
 * epoch ms; connections: accepted since the reset; openConnections: open now; peakConnections: the
 * most open at once since the reset, starting from those still open at the reset).
 */
const net = require('node:net');

const SINK_COUNT = Number(process.argv[2] ?? 4);
const ID_HEADER = /^x-multi-smtp-id:[ \t]*([^\r\n]+)/im;
const END_OF_DATA = '\r\n.\r\n';

const EHLO_REPLY = ['250-bench-sink', '250-PIPELINING', '250-8BITMIME', '250 SIZE 52428800'].join('\r\n') + '\r\n';

/** Message ids seen in this phase, over every sink. */
let seenIds = new Set();
let duplicates = 0;

const newCounts = (port, open = 0) => ({ port, messages: 0, firstAt: null, lastAt: null, connections: 0, openConnections: open, peakConnections: open });

const startSink = () =>
  new Promise((resolve, reject) => {
    let counts = null;
    let open = 0;
    const sockets = new Set();

    const countMessage = (data) => {
      const now = Date.now();
      counts.messages += 1;
      counts.firstAt ??= now;
      counts.lastAt = now;
      const headerEnd = data.indexOf('\r\n\r\n');
      const match = ID_HEADER.exec(headerEnd === -1 ? data : data.slice(0, headerEnd));
      if (!match) return;
      const id = match[1].trim();
      if (seenIds.has(id)) duplicates += 1;
      else seenIds.add(id);
    };

    const server = net.createServer((socket) => {
      sockets.add(socket);
      open += 1;
      counts.connections += 1;
      counts.openConnections = open;
      counts.peakConnections = Math.max(counts.peakConnections, open);
      socket.setNoDelay(true);
      socket.setEncoding('latin1');
      let buffer = '';
      let inData = false;
      /** Where to resume looking for the end of DATA (the buffer before it was already searched). */
      let searchFrom = 0;

      const handleCommand = (line) => {
        const verb = line.slice(0, 4).toUpperCase();
        switch (verb) {
          case 'EHLO':
            return EHLO_REPLY;
          case 'HELO':
            return '250 bench-sink\r\n';
          case 'MAIL':
            return '250 2.1.0 Ok\r\n';
          case 'RCPT':
            return '250 2.1.5 Ok\r\n';
          case 'DATA':
            inData = true;
            searchFrom = 0;
            return '354 End data with <CR><LF>.<CR><LF>\r\n';
          case 'RSET':
          case 'NOOP':
            return '250 2.0.0 Ok\r\n';
          case 'QUIT':
            socket.end('221 2.0.0 Bye\r\n');
            return '';
          default:
            return '502 5.5.2 Command not implemented\r\n';
        }
      };

      socket.on('data', (chunk) => {
        buffer += chunk;
        let replies = '';
        for (;;) {
          if (inData) {
            // A message that is empty ends with ".\r\n" right away; otherwise with CRLF.CRLF.
            const end = buffer.startsWith('.\r\n') ? -2 : buffer.indexOf(END_OF_DATA, searchFrom);
            if (end === -1) {
              searchFrom = Math.max(0, buffer.length - END_OF_DATA.length);
              break;
            }
            countMessage(end < 0 ? '' : buffer.slice(0, end));
            buffer = buffer.slice(end + END_OF_DATA.length);
            inData = false;
            replies += `250 2.0.0 Ok: queued\r\n`;
            continue;
          }
          const lineEnd = buffer.indexOf('\r\n');
          if (lineEnd === -1) break;
          const line = buffer.slice(0, lineEnd);
          buffer = buffer.slice(lineEnd + 2);
          replies += handleCommand(line);
        }
        if (replies && !socket.destroyed && socket.writable) socket.write(replies);
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        open -= 1;
        counts.openConnections = open;
        sockets.delete(socket);
      });
      socket.write('220 bench-sink ESMTP\r\n');
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      counts = newCounts(port);
      resolve({
        port,
        counts: () => ({ ...counts }),
        reset: () => {
          counts = newCounts(port, open);
        },
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });

const main = async () => {
  const sinks = await Promise.all(Array.from({ length: SINK_COUNT }, () => startSink()));
  process.on('message', async (message) => {
    if (message.type === 'counts') {
      const cpu = process.cpuUsage();
      process.send({
        type: 'counts',
        requestId: message.requestId,
        sinks: sinks.map((sink) => sink.counts()),
        uniqueIds: seenIds.size,
        duplicates,
        cpuUs: cpu.user + cpu.system,
      });
    } else if (message.type === 'reset') {
      for (const sink of sinks) sink.reset();
      seenIds = new Set();
      duplicates = 0;
      process.send({ type: 'reset', requestId: message.requestId });
    } else if (message.type === 'close') {
      await Promise.all(sinks.map((sink) => sink.close()));
      process.exit(0);
    }
  });
  // The parent went away without saying close: do not linger.
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', ports: sinks.map((sink) => sink.port) });
};

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
