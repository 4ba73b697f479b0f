// Real object-storage servers on 127.0.0.1, started and stopped by the tests: MinIO (S3, checks SigV4
// signatures and bucket policies), fake-gcs-server (GCS) and Azurite (Azure Blob, checks shared-key
// signatures). scripts/env.sh builds the Go servers at pinned versions and exports their paths;
// Azurite is an npm devDependency. Each helper uploads the fixture tree through the service's own API.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { CreateBucketCommand, PutBucketPolicyCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';

export interface Server {
  /** Base URL, `http://127.0.0.1:<port>`. */
  endpoint: string;
  stop(): Promise<void>;
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * The server binary scripts/env.sh built: from its exported variable, or else from the pinned module
 * named in env.sh and the cache layout it uses (so `npx ava` works once `npm test` has run).
 */
function requiredBinary(variable: string, moduleVariable: string): string {
  const fromEnv = process.env[variable];
  if (fromEnv) return fromEnv;
  const envSh = readFileSync(join(__dirname, '..', '..', 'scripts', 'env.sh'), 'utf8');
  const pinned = new RegExp(`^${moduleVariable}="([^"@]+)@([^"]+)"`, 'm').exec(envSh);
  const cache = process.env.RUSTYTREE_CACHE ?? join(homedir(), '.cache', 'rustytree');
  if (pinned) {
    const name = pinned[1].split('/').pop()!;
    const path = join(cache, 'gobin', `${name}-${pinned[2]}`, name);
    if (existsSync(path)) return path;
  }
  throw new Error(`${variable} is not set and the pinned build is missing: run \`npm test\`, which builds the object-storage servers`);
}

/** Starts `command` and resolves once `ready` answers, or rejects with the process's log. */
async function launch(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: () => Promise<boolean>,
): Promise<{ child: ChildProcess; dir: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), `rustytree-${name}-`));
  const logPath = join(dir, 'server.log');
  const log = createWriteStream(logPath);
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const stop = async () => {
    if (!exited) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited) break;
    if (await ready().catch(() => false)) return { child, dir, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  const text = readFileSync(logPath, 'utf8');
  await stop();
  throw new Error(`${name} did not start:\n${text}`);
}

const answers =
  (url: string, ok: (status: number) => boolean = (s) => s === 200) =>
  async () =>
    ok((await fetch(url)).status);

/** Every file under `root`, as [key relative to root with '/' separators, absolute path]. */
export function filesUnder(root: string): [string, string][] {
  const out: [string, string][] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push([relative(root, p).split(sep).join('/'), p]);
    }
  };
  walk(root);
  return out;
}

/** Runs `put` over every file under `root` (keys prefixed with `prefix`), a few at a time. */
async function uploadAll(root: string, prefix: string, put: (key: string, body: Buffer) => Promise<unknown>): Promise<number> {
  const files = filesUnder(root).map(([key, path]): [string, string] => [prefix + key, path]);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const [key, path] = files[next++];
      await put(key, readFileSync(path));
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return files.length;
}

// ---------------------------------------------------------------- S3 (MinIO)

export interface MinioServer extends Server {
  accessKeyId: string;
  secretAccessKey: string;
  client: S3Client;
  /** Creates `bucket` (once) and uploads every file under `root` into it, keys prefixed with `prefix`. */
  upload(bucket: string, root: string, prefix?: string): Promise<number>;
  /** Lets anyone GET objects of `bucket` but the `denied` keys; with `list`, list it too. */
  allowAnonymousRead(bucket: string, list: boolean, denied?: string[]): Promise<void>;
}

export async function startMinio(): Promise<MinioServer> {
  const port = await freePort();
  const consolePort = await freePort();
  const accessKeyId = 'rustytree-test-user';
  const secretAccessKey = 'rustytree-test-secret-0123456789';
  const endpoint = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'rustytree-minio-data-'));
  const { stop } = await launch(
    'minio',
    requiredBinary('RUSTYTREE_MINIO_BIN', 'MINIO_MODULE'),
    ['server', dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'],
    { MINIO_ROOT_USER: accessKeyId, MINIO_ROOT_PASSWORD: secretAccessKey, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off' },
    answers(`${endpoint}/minio/health/live`),
  );
  const created = new Set<string>();
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    client,
    async upload(bucket, root, prefix = '') {
      if (!created.has(bucket)) await client.send(new CreateBucketCommand({ Bucket: bucket }));
      created.add(bucket);
      return uploadAll(root, prefix, (Key, Body) => client.send(new PutObjectCommand({ Bucket: bucket, Key, Body })));
    },
    async allowAnonymousRead(bucket, list, denied = []) {
      const statements: object[] = [
        { Effect: 'Allow', Principal: { AWS: ['*'] }, Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${bucket}/*`] },
      ];
      if (list) {
        statements.push({ Effect: 'Allow', Principal: { AWS: ['*'] }, Action: ['s3:ListBucket'], Resource: [`arn:aws:s3:::${bucket}`] });
      }
      if (denied.length > 0) {
        const Resource = denied.map((key) => `arn:aws:s3:::${bucket}/${key}`);
        statements.push({ Effect: 'Deny', Principal: { AWS: ['*'] }, Action: ['s3:GetObject'], Resource });
      }
      const Policy = JSON.stringify({ Version: '2012-10-17', Statement: statements });
      await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy }));
    },
    async stop() {
      client.destroy();
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- GCS (fake-gcs-server)

export interface FakeGcsServer extends Server {
  /** Creates `bucket` (once) and uploads every file under `root` into it, keys prefixed with `prefix`. */
  upload(bucket: string, root: string, prefix?: string): Promise<number>;
}

export async function startFakeGcs(): Promise<FakeGcsServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const { stop } = await launch(
    'fake-gcs',
    requiredBinary('RUSTYTREE_FAKE_GCS_BIN', 'FAKE_GCS_MODULE'),
    // XML-API paths (/bucket/key, what object_store requests) are routed only for the public host.
    [
      '-scheme',
      'http',
      '-host',
      '127.0.0.1',
      '-port',
      String(port),
      '-backend',
      'memory',
      '-log-level',
      'warn',
      '-external-url',
      endpoint,
      '-public-host',
      `127.0.0.1:${port}`,
    ],
    {},
    answers(`${endpoint}/storage/v1/b`),
  );
  const created = new Set<string>();
  const check = async (r: Response, what: string) => {
    if (!r.ok) throw new Error(`fake-gcs-server: ${what}: ${r.status} ${await r.text()}`);
  };
  return {
    endpoint,
    async upload(bucket, root, prefix = '') {
      if (!created.has(bucket)) {
        await check(
          await fetch(`${endpoint}/storage/v1/b`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ name: bucket }),
          }),
          `creating ${bucket}`,
        );
      }
      created.add(bucket);
      return uploadAll(root, prefix, async (key, body) =>
        check(
          await fetch(`${endpoint}/upload/storage/v1/b/${bucket}/o?uploadType=media&name=${encodeURIComponent(key)}`, {
            method: 'POST',
            headers: { 'content-type': 'application/octet-stream' },
            body,
          }),
          `uploading ${key}`,
        ),
      );
    },
    stop,
  };
}

// ---------------------------------------------------------------- Azure (Azurite)

/** Azurite's documented development account. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteServer extends Server {
  /** Blob endpoint including the account, as object_store's `endpoint` wants it. */
  blobEndpoint: string;
  /** Creates `container` (once; publicly readable with `publicRead`) and uploads every file under `root`,
   * keys prefixed with `prefix`. */
  upload(container: string, root: string, publicRead: boolean, prefix?: string): Promise<number>;
}

export async function startAzurite(): Promise<AzuriteServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const blobEndpoint = `${endpoint}/${AZURITE_ACCOUNT}`;
  const main = require.resolve('azurite/dist/src/blob/main.js');
  const { stop } = await launch(
    'azurite',
    process.execPath,
    [
      main,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--inMemoryPersistence',
      '--silent',
      '--skipApiVersionCheck',
      '--loose',
      '--disableTelemetry',
    ],
    {},
    answers(`${blobEndpoint}?comp=list`, (s) => s > 0),
  );
  const created = new Set<string>();
  const service = new BlobServiceClient(blobEndpoint, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY));
  return {
    endpoint,
    blobEndpoint,
    async upload(container, root, publicRead, prefix = '') {
      const client = service.getContainerClient(container);
      if (!created.has(container)) await client.create(publicRead ? { access: 'container' } : {});
      created.add(container);
      return uploadAll(root, prefix, (key, body) => client.getBlockBlobClient(key).uploadData(body));
    },
    stop,
  };
}
