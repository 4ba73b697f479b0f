// A small static HTTP server of our own on 127.0.0.1 for the http:// source tests: GET and HEAD with
// byte ranges (a-b, a-, suffix -n), 404 for missing files, no directory listing (as on a plain web
// server), and a log of every request so tests can count them.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createReadStream, readFileSync, promises as fs } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface StaticServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Every request as `METHOD path [range]`. */
  log: string[];
  close(): Promise<void>;
}

/** A `Range` header against an object of `size` bytes: [first, last] inclusive, `invalid`, or none. */
export function parseRange(header: string | undefined, size: number): [number, number] | 'invalid' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  if (m[1] === '') {
    const n = Number(m[2]);
    return n === 0 ? 'invalid' : [Math.max(0, size - n), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start > end || start >= size ? 'invalid' : [start, end];
}

async function handle(root: string, req: IncomingMessage, res: ServerResponse, log: string[]): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  log.push(`${req.method} ${url.pathname}${req.headers.range ? ` ${req.headers.range}` : ''}`);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405).end();
    return;
  }
  const relative = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '');
  const file = join(root, relative);
  if (!file.startsWith(root + sep) && file !== root) {
    res.writeHead(403).end();
    return;
  }
  const stat = await fs.stat(file).catch(() => undefined);
  if (!stat?.isFile()) {
    res.writeHead(404).end();
    return;
  }
  const range = parseRange(req.headers.range, stat.size);
  if (range === 'invalid') {
    res.writeHead(416, { 'Content-Range': `bytes */${stat.size}` }).end();
    return;
  }
  const headers = { 'Accept-Ranges': 'bytes', 'Last-Modified': stat.mtime.toUTCString(), ETag: `"${stat.size}-${stat.mtimeMs}"` };
  if (range) {
    const [start, end] = range;
    res.writeHead(206, { ...headers, 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${stat.size}` });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file, { start, end }).pipe(res);
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': stat.size });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
}

/**
 * Serves `root` on an ephemeral loopback port; `latencyMs` delays every response (simulated distance);
 * `tls` serves https with the self-signed certificate in fixtures/tls (scripts/make_tls_fixture.sh).
 */
export async function serveDirectory(root: string, options: { latencyMs?: number; tls?: boolean } = {}): Promise<StaticServer> {
  const log: string[] = [];
  const latency = options.latencyMs ?? 0;
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const respond = () => handle(root, req, res, log).catch(() => res.writeHead(500).end());
    if (latency > 0) setTimeout(respond, latency);
    else void respond();
  };
  const tlsDir = join(__dirname, '..', '..', 'fixtures', 'tls');
  const server: Server = options.tls
    ? createTlsServer({ key: readFileSync(join(tlsDir, 'key.pem')), cert: readFileSync(join(tlsDir, 'cert.pem')) }, listener)
    : createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
