// Secrets: distinctive credential strings go into every credential option (S3 keys and session token,
// GCS bearer token and service account key, Azure account key, SAS token and client secret, the keys of
// virtual chunk containers, URL user info) and, in a child process, into the environment (AWS_*,
// AZURE_*, GOOGLE_*) with Rust logging turned up. Every error path we can reach is triggered — refusals,
// missing objects, server errors after retries, timeouts, aborts, closed ports, invalid options — through
// our fault proxy, which also plays a server that reflects the request (line and headers, so the session
// token, bearer token and SAS token come back in the error body). No secret may appear in any message,
// stack, toString(), util.inspect, JSON.stringify, cause chain, or the process's stdout/stderr.
// s3.spec.ts, azure.spec.ts and gcs.spec.ts check one wrong key each against the real servers; this
// file covers every option and path.
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { isRustytreeError, openDatatree, type ErrorCode, type OpenOptions, type StorageOptions } from '../index';
import { serveBucket, type BucketServer } from './helpers/s3-server';
import { FIXTURES } from './helpers/expected';
import { startFaultProxy, type FaultProxy, type FaultRule } from './helpers/fault-proxy';
import { freePort } from './helpers/servers';

const ROOT = join(__dirname, '..');

// Distinctive, and each shaped as the real thing must be (an Azure key is base64).
const S = {
  accessKeyId: 'AKIARTSECRETKEYID0001',
  secretAccessKey: 'rtsecret-aws-secret-access-key-7Qz9',
  sessionToken: 'rtsecret-aws-session-token-Lk3m',
  bearerToken: 'rtsecret-gcs-bearer-token-Pw81',
  gcsPrivateKey: 'rtsecret-gcs-private-key-Hx52',
  accountKey: Buffer.from('rtsecret-azure-account-key-Vb07').toString('base64'),
  sasSignature: 'rtsecret-azure-sas-sig-Jd44',
  clientSecret: 'rtsecret-azure-client-secret-Qa19',
  virtualKeyId: 'AKIARTSECRETVIRTUAL02',
  virtualSecret: 'rtsecret-virtual-secret-key-Mn66',
  virtualToken: 'rtsecret-virtual-session-token-Tt30',
  urlPassword: 'rtsecret-url-password-Ee12',
  badAccountKey: 'rtsecret-not-base64-!!-Zk90',
};
const SECRETS = Object.values(S);

let server: BucketServer;
let deadPort: number;
const proxies: FaultProxy[] = [];

test.before(async () => {
  server = await serveBucket(join(FIXTURES, 'stores'), { bucket: 'stores', extraBuckets: { icechunk: join(FIXTURES, 'icechunk') } });
  deadPort = await freePort();
});

test.after.always(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await server?.close();
});

async function proxyWith(...rules: FaultRule[]): Promise<FaultProxy> {
  const proxy = await startFaultProxy(server.url);
  proxies.push(proxy);
  for (const rule of rules) proxy.inject(rule);
  return proxy;
}

/** Every text an error exposes: message, stack, toString, inspect (all own properties), JSON, causes. */
function texts(err: unknown): string[] {
  const out: string[] = [inspect(err, { depth: Infinity, showHidden: true })];
  try {
    out.push(JSON.stringify(err));
  } catch {
    // A cyclic error cannot be stringified; the other views still cover it.
  }
  for (let e: any = err, depth = 0; e && depth < 10; e = e.cause, depth++) out.push(String(e), String(e.message), String(e.stack));
  return out;
}

/** The secrets of `secrets` that `text` shows. */
const shown = (text: string, secrets: string[]) => secrets.filter((secret) => text.includes(secret));

/** `promise` rejects with a coded error in time, and none of `secrets` shows anywhere in it. */
async function clean(
  t: ExecutionContext,
  label: string,
  promise: Promise<unknown>,
  codes: ErrorCode[],
  secrets = SECRETS,
): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'HANG'>((r) => {
    timer = setTimeout(() => r('HANG'), 15_000);
  });
  const outcome = await Promise.race([
    promise.then(
      () => 'RESOLVED' as const,
      (e: unknown) => e,
    ),
    deadline,
  ]);
  clearTimeout(timer);
  if (outcome === 'HANG' || outcome === 'RESOLVED') {
    t.fail(`${label}: ${outcome}, expected a rejection`);
    return '';
  }
  t.true(isRustytreeError(outcome, ...codes), `${label}: ${(outcome as any)?.code} ${(outcome as Error)?.message}`);
  const all = texts(outcome).join('\n');
  t.deepEqual(shown(all, secrets), [], `${label}: ${(outcome as Error).message}`);
  return (outcome as Error).message;
}

const REFLECT = (status: number, match?: RegExp): FaultRule => ({ kind: 'status', status, times: 1_000_000, echo: true, match });

const s3Keys = (endpoint: string, extra: StorageOptions = {}): StorageOptions => ({
  endpoint,
  allowHttp: true,
  region: 'us-east-1',
  accessKeyId: S.accessKeyId,
  secretAccessKey: S.secretAccessKey,
  sessionToken: S.sessionToken,
  maxRetries: 1,
  initialBackoff: 5,
  ...extra,
});

test('S3 keys and session token: refusals, missing keys, server errors, timeouts, aborts, closed ports', async (t) => {
  for (const [status, code] of [
    [403, 'ERR_PERMISSION_DENIED'],
    [404, 'ERR_NOT_FOUND'],
    [500, 'ERR_STORAGE'],
    [400, 'ERR_STORAGE'],
  ] as const) {
    const proxy = await proxyWith(REFLECT(status));
    await clean(t, `s3 open ${status}`, openDatatree('s3://stores/cf.zarr', { storageOptions: s3Keys(proxy.url) }), [code]);
    await clean(
      t,
      `s3 icechunk ${status}`,
      openDatatree('s3://icechunk/radar.icechunk', { engine: 'icechunk', storageOptions: s3Keys(proxy.url) }),
      [code, 'ERR_STORAGE'],
    );
    // The reflecting server really handed the session token back: the scrubbing above was exercised.
    t.true(proxy.echoed.some((body) => body.includes(S.sessionToken) && body.includes(S.accessKeyId)));
  }
  // Errors after a good open: the snapshot, a manifest, a chunk.
  for (const match of [/snapshots\//, /manifests\//, /chunks\//]) {
    const proxy = await proxyWith(REFLECT(500, match));
    const attempt = async () => {
      const tree = await openDatatree('s3://icechunk/radar.icechunk', { storageOptions: s3Keys(proxy.url) });
      for (const node of tree.subtree) for (const v of node.dataset.variables.values()) await v.read();
    };
    await clean(t, `s3 icechunk ${match}`, attempt(), ['ERR_STORAGE']);
  }
  const proxy = await proxyWith();
  // 1 s, not less: nexrad.zarr's consolidated zarr.json must arrive within it on a loaded machine.
  const tree = await openDatatree('s3://stores/nexrad.zarr', { storageOptions: s3Keys(proxy.url, { timeout: 1000 }) });
  const dbzh = tree.get('/VCP-12/sweep_0')!.dataset.get('DBZH')!;
  proxy.inject(REFLECT(500, /DBZH\/c\//));
  await clean(t, 's3 chunk 500', dbzh.read(), ['ERR_STORAGE']);
  proxy.faults.length = 0;
  proxy.inject({ kind: 'stall', times: 1000, match: /DBZH\/c\// });
  await clean(t, 's3 chunk timeout', dbzh.read(), ['ERR_STORAGE']);
  const controller = new AbortController();
  const read = dbzh.read({}, { signal: controller.signal });
  setTimeout(() => controller.abort(), 50);
  await clean(t, 's3 chunk aborted', read, ['ERR_ABORTED']);
  const aborted = new AbortController();
  aborted.abort();
  await clean(t, 's3 open aborted', openDatatree('s3://stores/cf.zarr', { signal: aborted.signal, storageOptions: s3Keys(proxy.url) }), [
    'ERR_ABORTED',
  ]);
  await clean(t, 's3 closed port', openDatatree('s3://stores/cf.zarr', { storageOptions: s3Keys(`http://127.0.0.1:${deadPort}`) }), [
    'ERR_STORAGE',
  ]);
});

test('S3 options that are invalid never echo the values given', async (t) => {
  const base = { endpoint: server.url, allowHttp: true, region: 'us-east-1' };
  const cases: [string, StorageOptions][] = [
    ['unknown key', { ...base, secretKey: S.secretAccessKey } as StorageOptions],
    ['snake_case unknown key', { ...base, aws_secret_key_typo: S.secretAccessKey } as StorageOptions],
    ['key of another scheme', { ...base, accountKey: S.accountKey }],
    ['wrong type', { ...base, accessKeyId: S.accessKeyId, secretAccessKey: { value: S.secretAccessKey } } as unknown as StorageOptions],
    ['credentials with anonymous', { ...base, anonymous: true, accessKeyId: S.accessKeyId, secretAccessKey: S.secretAccessKey }],
    ['half a key pair', { ...base, secretAccessKey: S.secretAccessKey }],
    ['timeout as a secret', { ...base, timeout: S.sessionToken } as unknown as StorageOptions],
  ];
  for (const [label, storageOptions] of cases) {
    await clean(t, label, openDatatree('s3://stores/cf.zarr', { storageOptions }), [
      'ERR_INVALID_ARGUMENT',
      'ERR_PERMISSION_DENIED',
      'ERR_STORAGE',
      'ERR_INVALID_SOURCE',
    ]);
  }
  await clean(
    t,
    'storage options on a local path',
    openDatatree(join(FIXTURES, 'stores', 'cf.zarr'), { storageOptions: s3Keys(server.url) }),
    ['ERR_INVALID_ARGUMENT'],
  );
});

test('GCS bearer token and service account key', async (t) => {
  const gcs = (endpoint: string, extra: StorageOptions = {}): StorageOptions => ({
    endpoint,
    allowHttp: true,
    bearerToken: S.bearerToken,
    maxRetries: 1,
    initialBackoff: 5,
    ...extra,
  });
  for (const [status, code] of [
    [401, 'ERR_PERMISSION_DENIED'],
    [403, 'ERR_PERMISSION_DENIED'],
    [404, 'ERR_NOT_FOUND'],
    [500, 'ERR_STORAGE'],
  ] as const) {
    const proxy = await proxyWith(REFLECT(status));
    await clean(t, `gs ${status}`, openDatatree('gs://stores/cf.zarr', { storageOptions: gcs(proxy.url) }), [code]);
    t.true(
      proxy.echoed.some((body) => body.includes(S.bearerToken)),
      'the token came back in the body',
    );
  }
  const stall = await proxyWith({ kind: 'stall', times: 1000 });
  await clean(t, 'gs timeout', openDatatree('gs://stores/cf.zarr', { storageOptions: gcs(stall.url, { timeout: 300 }) }), ['ERR_STORAGE']);
  await clean(t, 'gs closed port', openDatatree('gs://stores/cf.zarr', { storageOptions: gcs(`http://127.0.0.1:${deadPort}`) }), [
    'ERR_STORAGE',
  ]);
  const key = JSON.stringify({
    type: 'service_account',
    project_id: 'rt',
    private_key_id: 'k1',
    private_key: `-----BEGIN PRIVATE KEY-----\n${S.gcsPrivateKey}\n-----END PRIVATE KEY-----\n`,
    client_email: 'rt@rt.iam.gserviceaccount.com',
    token_uri: `http://127.0.0.1:${deadPort}/token`,
  });
  await clean(
    t,
    'gs service account key',
    openDatatree('gs://stores/cf.zarr', {
      storageOptions: { endpoint: `http://127.0.0.1:${deadPort}`, allowHttp: true, serviceAccountKey: key, maxRetries: 1 },
    }),
    ['ERR_INVALID_SOURCE', 'ERR_PERMISSION_DENIED', 'ERR_STORAGE', 'ERR_INVALID_ARGUMENT'],
  );
});

test('Azure account key, SAS token and client secret', async (t) => {
  const sas = `sv=2022-11-02&ss=b&srt=sco&sp=rl&se=2030-01-01T00:00:00Z&sig=${S.sasSignature}`;
  for (const [status, code] of [
    [403, 'ERR_PERMISSION_DENIED'],
    [404, 'ERR_NOT_FOUND'],
    [500, 'ERR_STORAGE'],
  ] as const) {
    const proxy = await proxyWith(REFLECT(status));
    const endpoint = `${proxy.url}/rtacct`;
    const common = { endpoint, allowHttp: true, accountName: 'rtacct', maxRetries: 1, initialBackoff: 5 };
    await clean(t, `az key ${status}`, openDatatree('az://stores/cf.zarr', { storageOptions: { ...common, accountKey: S.accountKey } }), [
      code,
    ]);
    await clean(t, `az sas ${status}`, openDatatree('az://stores/cf.zarr', { storageOptions: { ...common, sasToken: sas } }), [code]);
    // The SAS signature travels in the query string, so the reflected request line carries it.
    t.true(proxy.echoed.some((body) => body.includes(S.sasSignature)));
  }
  const stall = await proxyWith({ kind: 'stall', times: 1000 });
  await clean(
    t,
    'az sas timeout',
    openDatatree('az://stores/cf.zarr', {
      storageOptions: {
        endpoint: `${stall.url}/rtacct`,
        allowHttp: true,
        accountName: 'rtacct',
        sasToken: sas,
        timeout: 300,
        maxRetries: 1,
      },
    }),
    ['ERR_STORAGE'],
  );
  await clean(
    t,
    'az key not base64',
    openDatatree('az://stores/cf.zarr', {
      storageOptions: { endpoint: `${server.url}/rtacct`, allowHttp: true, accountName: 'rtacct', accountKey: S.badAccountKey },
    }),
    ['ERR_INVALID_SOURCE', 'ERR_INVALID_ARGUMENT', 'ERR_PERMISSION_DENIED', 'ERR_STORAGE'],
  );
  await clean(
    t,
    'az key on s3',
    openDatatree('s3://stores/cf.zarr', {
      storageOptions: { endpoint: server.url, allowHttp: true, accountKey: S.accountKey, sasToken: sas, clientSecret: S.clientSecret },
    }),
    ['ERR_INVALID_ARGUMENT'],
  );
});

test('virtual chunk container keys', async (t) => {
  const proxy = await proxyWith(REFLECT(403));
  const container = {
    prefix: 's3://rustytree-virtual/',
    endpoint: proxy.url,
    allowHttp: true,
    region: 'us-east-1',
    accessKeyId: S.virtualKeyId,
    secretAccessKey: S.virtualSecret,
    sessionToken: S.virtualToken,
  };
  const tree = await openDatatree(join(FIXTURES, 'icechunk', 'virtual.icechunk'), { virtualChunkContainers: [container] });
  await clean(t, 'virtual 403', tree.dataset.get('temp')!.read(), ['ERR_PERMISSION_DENIED', 'ERR_STORAGE'], SECRETS);
  t.true(proxy.echoed.some((body) => body.includes(S.virtualToken)));
  await clean(
    t,
    'virtual unknown container',
    openDatatree(join(FIXTURES, 'icechunk', 'virtual.icechunk'), {
      virtualChunkContainers: [{ ...container, prefix: 's3://no-such-container/' }],
    }),
    ['ERR_INVALID_ARGUMENT'],
  );
  await clean(
    t,
    'virtual anonymous with keys',
    openDatatree(join(FIXTURES, 'icechunk', 'virtual.icechunk'), { virtualChunkContainers: [{ ...container, anonymous: true }] }),
    ['ERR_INVALID_ARGUMENT'],
  );
});

// object_store's "Error performing GET http://user:<password>@host/..." carried the URL's user info; every
// message now has URL user info replaced by *** (src/source/options.rs `scrub`).
test('the password in an http source URL never shows', async (t) => {
  const reflect = await proxyWith(REFLECT(403), REFLECT(404));
  const url = reflect.url.replace('http://', `http://rtuser:${S.urlPassword}@`);
  await clean(t, 'http user info', openDatatree(`${url}/cf.zarr`, { storageOptions: { maxRetries: 1 } } as OpenOptions), [
    'ERR_PERMISSION_DENIED',
    'ERR_NOT_FOUND',
    'ERR_INVALID_SOURCE',
  ]);
});

// The child: credentials only from the environment, Rust logging and backtraces on; it prints every
// error in full (inspect with causes) to stdout and stderr, then a count.
const CHILD = `
const { inspect } = require('node:util');
const { openDatatree } = require(${JSON.stringify(join(ROOT, 'index.js'))});
const endpoint = process.env.RT_ENDPOINT;
const attempts = [
  () => openDatatree('s3://stores/cf.zarr', { storageOptions: { endpoint, allowHttp: true, maxRetries: 1, initialBackoff: 5 } }),
  () => openDatatree('s3://icechunk/radar.icechunk', { storageOptions: { endpoint, allowHttp: true, maxRetries: 1, initialBackoff: 5 } }),
  () => openDatatree('az://stores/cf.zarr', { storageOptions: { endpoint: endpoint + '/rtacct', allowHttp: true, maxRetries: 1 } }),
  () => openDatatree('gs://stores/cf.zarr', { storageOptions: { endpoint, allowHttp: true, maxRetries: 1 } }),
];
(async () => {
  let errors = 0;
  for (const attempt of attempts) {
    try { await attempt(); console.log('RESOLVED'); }
    catch (e) { errors++; console.log(inspect(e, { depth: Infinity, showHidden: true })); console.error(String(e), e.stack, e.cause && e.cause.stack); }
  }
  console.log('ERRORS ' + errors);
})();
`;

/** Runs the child once (both tests below read its output) against a reflecting proxy. */
let childRun: Promise<{ code: number | null; stdout: string; stderr: string; proxy: FaultProxy }> | undefined;
function runChild() {
  childRun ??= (async () => {
    const proxy = await proxyWith(REFLECT(403));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      RT_ENDPOINT: proxy.url,
      RUST_LOG: 'trace',
      RUST_BACKTRACE: 'full',
      AWS_ACCESS_KEY_ID: S.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S.secretAccessKey,
      AWS_SESSION_TOKEN: S.sessionToken,
      AWS_REGION: 'us-east-1',
      AZURE_STORAGE_ACCOUNT_NAME: 'rtacct',
      AZURE_STORAGE_ACCOUNT_KEY: S.accountKey,
      AZURE_CLIENT_SECRET: S.clientSecret,
      GOOGLE_BEARER_TOKEN: S.bearerToken,
      // Point the shared AWS files nowhere, so only the variables above are read.
      AWS_SHARED_CREDENTIALS_FILE: join(ROOT, 'no-such-credentials'),
      AWS_CONFIG_FILE: join(ROOT, 'no-such-config'),
    };
    const child = spawn(process.execPath, ['-e', CHILD], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    return { code, stdout, stderr, proxy };
  })();
  return childRun;
}

test('credentials from the environment stay out of errors and of the process output, with Rust logging on', async (t) => {
  const { code, stdout, stderr, proxy } = await runChild();
  t.is(code, 0, stderr);
  t.regex(stdout, /ERRORS 4/, 'every attempt rejected');
  t.regex(stdout, /ERR_PERMISSION_DENIED/);
  t.true(
    proxy.echoed.some((body) => body.includes(S.sessionToken)),
    'the environment credentials were sent and reflected',
  );
  t.deepEqual(shown(stdout, SECRETS), [], 'stdout');
  t.deepEqual(shown(stderr, SECRETS), [], 'stderr');
  t.log(`child output: ${stdout.length} bytes stdout, ${stderr.length} bytes stderr, ${proxy.log.length} requests reflected`);
});

// A server that reflects the request (the Authorization header's `Credential=<key id>/...`) in its error
// body put key ids from AWS_ACCESS_KEY_ID and from virtual chunk containers into messages; they are
// scrubbed like the key ids given in storageOptions.
test('an access key id from the environment or a virtual chunk container is scrubbed too', async (t) => {
  const { stdout, stderr } = await runChild();
  t.deepEqual(shown(stdout + stderr, [S.accessKeyId]), [], 'environment key id in the output');
  const proxy = await proxyWith(REFLECT(403));
  const tree = await openDatatree(join(FIXTURES, 'icechunk', 'virtual.icechunk'), {
    virtualChunkContainers: [
      {
        prefix: 's3://rustytree-virtual/',
        endpoint: proxy.url,
        allowHttp: true,
        region: 'us-east-1',
        accessKeyId: S.virtualKeyId,
        secretAccessKey: S.virtualSecret,
      },
    ],
  });
  await clean(t, 'virtual 403', tree.dataset.get('temp')!.read(), ['ERR_PERMISSION_DENIED', 'ERR_STORAGE'], [S.virtualKeyId]);
});
