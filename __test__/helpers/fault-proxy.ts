// A fault-injecting HTTP proxy of our own on 127.0.0.1, put in front of a real server: it answers 503
// to the first requests, delays or stalls responses, and counts what passes. The Host header is
// forwarded unchanged, so request signatures (SigV4, Azure shared key) still verify at the server.
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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
  /** Requests seen (method and path), failed ones included. */
  log: string[];
  /** Requests being handled right now. */
  inFlight: number;
  close(): Promise<void>;
}

/** Starts a proxy forwarding to `target` (`http://127.0.0.1:<port>`). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const held = new Set<ServerResponse>();
  const proxy: FaultProxy = {
    url: '',
    fail503: 0,
    latencyMs: 0,
    rewriteHost: false,
    log: [],
    inFlight: 0,
    close: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    proxy.log.push(`${req.method} ${req.url}`);
    proxy.inFlight++;
    res.once('close', () => proxy.inFlight--);
    if (proxy.fail503 > 0) {
      proxy.fail503--;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml', 'retry-after': '0' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      return;
    }
    if (proxy.stall?.test(req.url ?? '')) {
      held.add(res);
      res.once('close', () => held.delete(res));
      req.resume();
      return;
    }
    const forward = () => {
      const out = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: proxy.rewriteHost ? { ...req.headers, host: upstream.host } : req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      req.pipe(out);
    };
    if (proxy.latencyMs > 0) setTimeout(forward, proxy.latencyMs);
    else forward();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
