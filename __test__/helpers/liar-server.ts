// A plain HTTP server of our own on 127.0.0.1 that answers the way a test tells it to (lying headers,
// chunked bodies, redirects) and records every request it gets (method, URL, headers), so a test can
// check what a client sent where. Given an upstream (a real server), `forward()` fetches the real answer
// for the handler to pass on, altered or not.
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface Upstream {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, forward: () => Promise<Upstream>) => void | Promise<void>;

export interface LiarServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Every request received, in arrival order. */
  requests: Recorded[];
  /** Bytes written by `endless` answers so far. */
  sent: number;
  close(): Promise<void>;
}

/** Forwards `req` (method, path, headers) to `upstream` and collects the whole answer. */
function fetchUpstream(upstream: string, req: IncomingMessage): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const target = new URL(req.url ?? '/', upstream);
    const out = request(target, { method: req.method, headers: req.headers }, (answer) => {
      const parts: Buffer[] = [];
      answer.on('data', (b: Buffer) => parts.push(b));
      answer.on('end', () => resolve({ status: answer.statusCode ?? 500, headers: answer.headers, body: Buffer.concat(parts) }));
      answer.on('error', reject);
    });
    out.on('error', reject);
    req.pipe(out);
  });
}

export async function startLiar(handler: Handler, upstream?: string): Promise<LiarServer> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const forward = () => {
      if (!upstream) throw new Error('liar server without an upstream');
      return fetchUpstream(upstream, req);
    };
    Promise.resolve(handler(req, res, forward)).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const liar: LiarServer = {
    url: `http://127.0.0.1:${port}`,
    requests,
    sent: 0,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
  return liar;
}

/** 2^62: a Content-Length no body will ever have. */
export const HUGE_LENGTH = '4611686018427387904';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Answers `status` announcing a 2^62-byte body, sends `body` in two pieces (so a client sees more than one
 * frame) and drops the connection.
 */
export async function announceHuge(res: ServerResponse, body: Buffer, status = 200): Promise<void> {
  res.writeHead(status, { 'Content-Length': HUGE_LENGTH, ETag: '"liar"', 'Last-Modified': new Date(0).toUTCString() });
  const half = Math.max(1, body.length >> 1);
  res.write(body.subarray(0, half));
  await sleep(30);
  res.write(body.subarray(half));
  await sleep(30);
  res.socket?.destroy();
}

/** Passes an upstream answer on without its Content-Length, so node sends it chunked, in small pieces. */
export async function sendChunked(res: ServerResponse, answer: Upstream): Promise<void> {
  const headers = { ...answer.headers };
  delete headers['content-length'];
  delete headers['transfer-encoding'];
  delete headers.connection;
  res.writeHead(answer.status, headers);
  for (let at = 0; at < answer.body.length; at += 1000) {
    res.write(answer.body.subarray(at, at + 1000));
    if (at % 10_000 === 0) await sleep(1);
  }
  res.end();
}

/** A 200 answer without a Content-Length whose body never ends (1 MiB pieces until the client leaves). */
export function endless(res: ServerResponse, liar: LiarServer): void {
  res.writeHead(200, { ETag: '"endless"', 'Last-Modified': new Date(0).toUTCString() });
  const piece = Buffer.alloc(1 << 20, 0x20);
  const pump = () => {
    let room = true;
    while (room && !res.destroyed) {
      liar.sent += piece.length;
      room = res.write(piece);
    }
    if (!res.destroyed) res.once('drain', pump);
  };
  res.on('close', () => res.removeAllListeners('drain'));
  pump();
}
