// The S3 server of the tests and the benchmark (benchmark/ imports it from here): a small server of our
// own on 127.0.0.1 that serves a directory as an S3 bucket (path style) and as plain HTTP, with a
// configurable latency L added to every response and to the first response on every new connection (a
// connection costs a round trip), and counters of requests by kind, bytes, connections and the peak
// number in flight.
//
// The S3 subset is what the readers use: GET and HEAD with ranges, ETags and If-None-Match,
// ListObjectsV2 with prefix, delimiter, max-keys and continuation tokens. Requests are not authenticated
// (clients use anonymous / unsigned mode). Real S3 servers that run here (MinIO) are too slow to time
// against; their correctness is covered by the object-storage tests.
import { readdirSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, relative, sep } from 'node:path';
import { parseRange } from './http-server';

export interface Counts {
  gets: number;
  rangedGets: number;
  heads: number;
  lists: number;
  notModified: number;
  bytes: number;
  connections: number;
  inFlight: number;
  peakInFlight: number;
}

export interface BucketServer {
  /** `http://127.0.0.1:<port>`: the S3 endpoint; objects are at `${url}/${bucket}/${key}`. */
  url: string;
  bucket: string;
  latencyMs: number;
  counts: Counts;
  resetCounts(): void;
  close(): Promise<void>;
}

interface Entry {
  key: string;
  path: string;
  size: number;
  mtime: Date;
  etag: string;
  /** The object's bytes, once read (small objects only). */
  body?: Buffer;
}

function index(root: string): Entry[] {
  const out: Entry[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else {
        const key = relative(root, path).split(sep).join('/');
        out.push({ key, path, size: st.size, mtime: st.mtime, etag: `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"` });
      }
    }
  };
  walk(root);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** ListObjectsV2: keys after the continuation token, folded at the delimiter, at most max-keys entries. */
function list(entries: Entry[], bucket: string, q: URLSearchParams): string {
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeys = Math.min(Number(q.get('max-keys') ?? 1000) || 1000, 1000);
  const after = q.get('continuation-token')
    ? Buffer.from(q.get('continuation-token')!, 'base64url').toString()
    : (q.get('start-after') ?? '');
  const contents: Entry[] = [];
  const prefixes: string[] = [];
  let last = '';
  let truncated = false;
  for (const e of entries) {
    if (!e.key.startsWith(prefix) || e.key <= after) continue;
    const rest = e.key.slice(prefix.length);
    const cut = delimiter ? rest.indexOf(delimiter) : -1;
    if (cut >= 0) {
      const common = prefix + rest.slice(0, cut + delimiter.length);
      if (prefixes[prefixes.length - 1] === common) continue;
      if (contents.length + prefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      prefixes.push(common);
      // Resume after every key under this common prefix.
      last = `${common}\uffff`;
    } else {
      if (contents.length + prefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      contents.push(e);
      last = e.key;
    }
  }
  const body = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
    `<Name>${xml(bucket)}</Name><Prefix>${xml(prefix)}</Prefix><Delimiter>${xml(delimiter)}</Delimiter>`,
    `<MaxKeys>${maxKeys}</MaxKeys><KeyCount>${contents.length + prefixes.length}</KeyCount><IsTruncated>${truncated}</IsTruncated>`,
    truncated ? `<NextContinuationToken>${Buffer.from(last).toString('base64url')}</NextContinuationToken>` : '',
    ...contents.map(
      (e) =>
        `<Contents><Key>${xml(e.key)}</Key><LastModified>${e.mtime.toISOString()}</LastModified><ETag>${xml(e.etag)}</ETag><Size>${e.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
    ),
    ...prefixes.map((p) => `<CommonPrefixes><Prefix>${xml(p)}</Prefix></CommonPrefixes>`),
    '</ListBucketResult>',
  ];
  return body.join('');
}

/** Objects up to this size are kept in memory once read, so a GET costs no file system round trip. */
const CACHED_OBJECT_BYTES = 4 << 20;
/** The cache's total budget: the large profile does not fit, its small objects do. */
const CACHE_BUDGET_BYTES = 1 << 30;
let cachedBytes = 0;

/**
 * Writes bytes [start, end) of `entry` in one `end()` call, so the request stops counting as in flight
 * exactly when its body is handed over (a piped stream ends only after one more read finds EOF). Small
 * objects are served from memory after their first read: with thousands of `zarr.json` GETs per open, a
 * file open/read/close per request made this server, not the clients, the bottleneck at L = 0.
 */
async function send(res: ServerResponse, entry: Entry, start: number, end: number): Promise<void> {
  if (entry.body) {
    res.end(entry.body.subarray(start, end));
    return;
  }
  const cache = entry.size <= CACHED_OBJECT_BYTES && cachedBytes + entry.size <= CACHE_BUDGET_BYTES;
  const file = await open(entry.path, 'r');
  try {
    const [from, to] = cache ? [0, entry.size] : [start, end];
    const body = Buffer.alloc(to - from);
    await file.read(body, 0, body.length, from);
    if (cache && !entry.body) {
      entry.body = body;
      cachedBytes += body.length;
    }
    res.end(cache ? body.subarray(start, end) : body);
  } catch {
    res.destroy();
  } finally {
    await file.close();
  }
}

/**
 * Serves `root` as bucket `bucket`, and each directory of `extraBuckets` (bucket name → directory) as a
 * bucket of its own (for readers that only open stores at a bucket's root).
 */
export async function serveBucket(
  root: string,
  options: { bucket?: string; latencyMs?: number; extraBuckets?: Record<string, string> } = {},
): Promise<BucketServer> {
  const bucket = options.bucket ?? 'bench';
  const buckets = new Map<string, { entries: Entry[]; byKey: Map<string, Entry> }>();
  for (const [name, dir] of [[bucket, root], ...Object.entries(options.extraBuckets ?? {})]) {
    const entries = index(dir);
    buckets.set(name, { entries, byKey: new Map(entries.map((e) => [e.key, e])) });
  }
  const zero = (): Counts => ({
    gets: 0,
    rangedGets: 0,
    heads: 0,
    lists: 0,
    notModified: 0,
    bytes: 0,
    connections: 0,
    inFlight: 0,
    peakInFlight: 0,
  });
  const fresh = new WeakSet<Socket>();
  const state: BucketServer = {
    url: '',
    bucket,
    latencyMs: options.latencyMs ?? 0,
    counts: zero(),
    resetCounts: () => {
      state.counts = zero();
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  const respond = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = decodeURIComponent(url.pathname).replace(/^\/+/, '');
    const [b, ...rest] = path.split('/');
    const key = rest.join('/');
    const c = state.counts;
    const served = buckets.get(b);
    if (!served) {
      res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchBucket</Code></Error>');
      return;
    }
    const { entries, byKey } = served;
    if (req.method === 'GET' && key === '' && url.searchParams.get('list-type') === '2') {
      c.lists++;
      const body = list(entries, b, url.searchParams);
      c.bytes += Buffer.byteLength(body);
      res.writeHead(200, { 'content-type': 'application/xml' }).end(body);
      return;
    }
    const entry = byKey.get(key);
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !entry) {
      if (req.method === 'HEAD') c.heads++;
      else c.gets++;
      res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405, { 'content-type': 'application/xml' });
      res.end(req.method === 'HEAD' ? undefined : '<Error><Code>NoSuchKey</Code></Error>');
      return;
    }
    const headers = { 'accept-ranges': 'bytes', etag: entry.etag, 'last-modified': entry.mtime.toUTCString() };
    if (req.headers['if-none-match'] === entry.etag) {
      c.notModified++;
      res.writeHead(304, headers).end();
      return;
    }
    const range = parseRange(req.headers.range, entry.size);
    if (req.method === 'HEAD') {
      c.heads++;
      res.writeHead(200, { ...headers, 'content-length': entry.size }).end();
      return;
    }
    if (range === 'invalid') {
      c.rangedGets++;
      res.writeHead(416, { 'content-range': `bytes */${entry.size}` }).end();
      return;
    }
    if (range) {
      c.rangedGets++;
      const [start, end] = range;
      c.bytes += end - start + 1;
      res.writeHead(206, { ...headers, 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${entry.size}` });
      void send(res, entry, start, end + 1);
      return;
    }
    c.gets++;
    c.bytes += entry.size;
    res.writeHead(200, { ...headers, 'content-length': entry.size });
    void send(res, entry, 0, entry.size);
  };
  const server = createServer((req, res) => {
    const c = state.counts;
    c.inFlight++;
    c.peakInFlight = Math.max(c.peakInFlight, c.inFlight);
    // A request stops counting as soon as its last byte is handed to the socket (the response's end),
    // not at the socket's later 'close' event: a client may already have its answer and sent the next
    // request before that event runs, which would count both.
    let counted = true;
    const done = () => {
      if (counted) {
        counted = false;
        state.counts.inFlight--;
      }
    };
    const end = res.end.bind(res);
    res.end = ((...args: Parameters<typeof res.end>) => {
      done();
      return end(...args);
    }) as typeof res.end;
    res.once('close', done);
    // A new connection costs one more round trip (TCP handshake) before its first answer.
    const delay = state.latencyMs * (fresh.has(req.socket) ? 2 : 1);
    fresh.delete(req.socket);
    if (delay > 0) setTimeout(() => respond(req, res), delay);
    else respond(req, res);
  });
  server.on('connection', (socket: Socket) => {
    state.counts.connections++;
    fresh.add(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
