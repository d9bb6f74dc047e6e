// A minimal authoritative DNS responder for tests (UDP on 127.0.0.1:<ephemeral>): answers TXT queries from a
// map and NXDOMAIN otherwise — enough for dns-01 validation through node:dns with a configured resolver.
import { createSocket } from 'node:dgram';

export interface DnsTestServer {
  port: number;
  /** TXT records by lowercase name (without the trailing dot) */
  txt: Map<string, string[]>;
  close(): Promise<void>;
}

function readName(msg: Buffer, off: number): { name: string; end: number } {
  const labels: string[] = [];
  let p = off;
  while (msg[p] !== 0) {
    const len = msg[p]!;
    labels.push(msg.subarray(p + 1, p + 1 + len).toString('ascii'));
    p += 1 + len;
  }
  return { name: labels.join('.').toLowerCase(), end: p + 1 };
}

export async function startDnsTestServer(): Promise<DnsTestServer> {
  const txt = new Map<string, string[]>();
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 17) return;
    const { name, end } = readName(msg, 12);
    const qtype = msg.readUInt16BE(end);
    const question = msg.subarray(12, end + 4);
    const values = qtype === 16 ? (txt.get(name) ?? []) : [];
    const answers = values.map((v) => {
      const data = Buffer.from(v, 'utf8');
      const rdata = Buffer.concat([Buffer.from([data.length]), data]);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
      rr.writeUInt16BE(16, 2); // TXT
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(0, 6); // TTL
      rr.writeUInt16BE(rdata.length, 10);
      return Buffer.concat([rr, rdata]);
    });
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    header.writeUInt16BE(0x8400 | (txt.has(name) ? 0 : 3), 2); // response, authoritative; NXDOMAIN when unknown
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    socket.send(Buffer.concat([header, question, ...answers]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    txt,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
