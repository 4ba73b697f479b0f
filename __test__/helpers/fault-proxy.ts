// A fault-injecting HTTP proxy of our own on 127.0.0.1, put in front of a real server: it answers 503
// to the first requests, delays or stalls responses, breaks response bodies in the ways networks and
// servers break them, can die with connections open, and counts what passes. The Host header is
// forwarded unchanged, so request signatures (SigV4, Azure shared key) still verify at the server.
import { createServer, request, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * What a fault does to a request it matches:
 * - `status`: answer `status` (429, 500, 503, 403, ...) without asking the upstream; with `echo`, the
 *   body repeats the request line and every header (a server that reflects credentials back).
 * - `reset`: forward, send the headers and half the body, then reset the connection (TCP RST).
 * - `truncate`: forward, send the headers (true length) and half the body, then close the connection.
 * - `longLength`: forward, declare a Content-Length 64 bytes longer than the body, send it, close.
 * - `shortLength`: forward, declare a Content-Length 1 byte shorter and send only that many bytes:
 *   the response is well-formed, so only the client's own checks can notice.
 * - `stall`: never answer (until the client gives up or the proxy closes).
 * - `badSignature`: forward with one hex digit of the SigV4 signature changed, so that the server itself
 *   refuses the request (S3: 403 SignatureDoesNotMatch).
 */
export type FaultKind = 'status' | 'reset' | 'truncate' | 'longLength' | 'shortLength' | 'stall' | 'badSignature';

export interface FaultRule {
  kind: FaultKind;
  /** How many matching requests get the fault (then the rule is spent). */
  times: number;
  /** Only requests whose `METHOD path?query` matches (default: any). */
  match?: RegExp;
  /** For `status`. */
  status?: number;
  /** For `status`: reflect the request line and headers in the body. */
  echo?: boolean;
  /** For body faults: break only 2xx answers (a missing key's 404 passes untouched, still counted). */
  okOnly?: boolean;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: use as the endpoint instead of the server's. */
  url: string;
  /** Answer this many of the next requests with 503 SlowDown (S3's throttling reply). */
  fail503: number;
  /** Delay every response by this many ms. */
  latencyMs: number;
  /** Hold requests whose path matches without answering until the client gives up. */
  stall?: RegExp;
  /** Send the upstream's own Host header (for servers that route by host; breaks signed requests). */
  rewriteHost: boolean;
  /** Faults to apply, first matching rule first; a rule is removed once its `times` are spent. */
  faults: FaultRule[];
  /** Stop listening and drop every connection when this many requests have arrived (that one too). */
  dieAfter?: number;
  /** Requests seen (method and path), failed ones included. */
  log: string[];
  /** `<kind> METHOD path [range]` of every request a fault rule or `fail503` hit. */
  faulted: string[];
  /** Bodies of the `echo` answers sent (what a reflecting server handed back to the client). */
  echoed: string[];
  /** Requests being handled right now. */
  inFlight: number;
  /** Whether the proxy has died (`kill()` or `dieAfter`). */
  dead: boolean;
  /** Adds a fault rule. */
  inject(rule: FaultRule): void;
  /** Stops listening and destroys every open connection, as a crashed server would. */
  kill(): void;
  close(): Promise<void>;
}

const SLOW_DOWN =
  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';

const REASONS: Record<number, string> = {
  403: 'AccessDenied',
  404: 'NoSuchKey',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'SlowDown',
};

/** An `Authorization: AWS4-HMAC-SHA256 ..., Signature=<hex>` header with the signature's first digit changed. */
const spoiled = (authorization: string | undefined) =>
  authorization?.replace(/Signature=([0-9a-f])/, (_, digit: string) => `Signature=${digit === '0' ? '1' : '0'}`);

/** Starts a proxy forwarding to `target` (`http://127.0.0.1:<port>`). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const held = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  let arrived = 0;
  const proxy: FaultProxy = {
    url: '',
    fail503: 0,
    latencyMs: 0,
    rewriteHost: false,
    faults: [],
    log: [],
    faulted: [],
    echoed: [],
    inFlight: 0,
    dead: false,
    inject: (rule) => {
      proxy.faults.push({ ...rule });
    },
    kill: () => {
      if (proxy.dead) return;
      proxy.dead = true;
      server.close();
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      if (proxy.dead) return;
      proxy.dead = true;
      await new Promise((r) => server.close(r));
    },
  };

  const takeFault = (line: string): FaultRule | undefined => {
    const i = proxy.faults.findIndex((f) => f.times > 0 && (!f.match || f.match.test(line)));
    if (i < 0) return undefined;
    const rule = proxy.faults[i];
    if (--rule.times <= 0) proxy.faults.splice(i, 1);
    return rule;
  };

  /** Sends `req` to the upstream; a failed upstream connection drops the client's too. */
  const upstreamRequest = (req: IncomingMessage, res: ServerResponse, onAnswer: (answer: IncomingMessage) => void) => {
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: proxy.rewriteHost ? { ...req.headers, host: upstream.host } : req.headers,
      },
      onAnswer,
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  };

  /** Forwards `req` upstream and hands the answer (status, headers, whole body) to `done`. */
  const forward = (req: IncomingMessage, res: ServerResponse, done: (status: number, headers: OutgoingHttpHeaders, body: Buffer) => void) =>
    upstreamRequest(req, res, (answer) => {
      const parts: Buffer[] = [];
      answer.on('data', (b: Buffer) => parts.push(b));
      answer.on('end', () => done(answer.statusCode ?? 502, { ...answer.headers }, Buffer.concat(parts)));
      answer.on('error', () => res.destroy());
    });

  const pipeThrough = (req: IncomingMessage, res: ServerResponse) =>
    upstreamRequest(req, res, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });

  const broken = (rule: FaultRule, req: IncomingMessage, res: ServerResponse) => {
    forward(req, res, (status, headers, body) => {
      const socket = res.socket;
      if (rule.okOnly && (status < 200 || status > 299)) {
        res.writeHead(status, headers);
        res.end(body);
        return;
      }
      delete headers['transfer-encoding'];
      const half = body.subarray(0, Math.floor(body.length / 2));
      switch (rule.kind) {
        case 'reset':
          res.writeHead(status, { ...headers, 'content-length': body.length });
          res.write(half, () => socket?.resetAndDestroy());
          return;
        case 'truncate':
          res.writeHead(status, { ...headers, 'content-length': body.length });
          res.write(half, () => socket?.end());
          return;
        case 'longLength':
          res.writeHead(status, { ...headers, 'content-length': body.length + 64 });
          res.write(body, () => socket?.end());
          return;
        case 'shortLength': {
          const short = Math.max(0, body.length - 1);
          res.writeHead(status, { ...headers, 'content-length': short });
          res.end(body.subarray(0, short));
          return;
        }
        default:
          res.destroy();
      }
    });
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const line = `${req.method} ${req.url}`;
    proxy.log.push(line);
    proxy.inFlight++;
    res.once('close', () => proxy.inFlight--);
    arrived++;
    if (proxy.dieAfter !== undefined && arrived >= proxy.dieAfter) {
      proxy.kill();
      return;
    }
    if (proxy.fail503 > 0) {
      proxy.fail503--;
      proxy.faulted.push(`503 ${line}`);
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml', 'retry-after': '0' });
      res.end(SLOW_DOWN);
      return;
    }
    const rule = takeFault(line);
    const range = req.headers.range ? ` ${req.headers.range}` : '';
    if (rule) proxy.faulted.push(`${rule.kind}${rule.kind === 'status' ? ` ${rule.status}` : ''} ${line}${range}`);
    if (rule?.kind === 'status') {
      req.resume();
      const status = rule.status ?? 503;
      const code = REASONS[status] ?? 'Error';
      const echo = rule.echo
        ? `<Request>${line}\n${Object.entries(req.headers)
            .map(([k, v]) => `${k}: ${v}`)
            .join('\n')}</Request>`
        : '';
      if (echo) proxy.echoed.push(echo);
      res.writeHead(status, { 'content-type': 'application/xml', 'retry-after': '0' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected ${status}</Message>${echo}</Error>`);
      return;
    }
    if (rule?.kind === 'stall' || proxy.stall?.test(req.url ?? '')) {
      held.add(res);
      res.once('close', () => held.delete(res));
      req.resume();
      return;
    }
    if (rule?.kind === 'badSignature') req.headers.authorization = spoiled(req.headers.authorization);
    const go = rule && rule.kind !== 'badSignature' ? () => broken(rule, req, res) : () => pipeThrough(req, res);
    if (proxy.latencyMs > 0) setTimeout(go, proxy.latencyMs);
    else go();
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
