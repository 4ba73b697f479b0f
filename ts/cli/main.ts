/**
 * The `rustytree` command: `tree`, `info` and `cat` over the library, with coded exit statuses,
 * `--stats` on stderr and Ctrl-C wired to the library's abort signal. `bin/rustytree.js` calls {@link run}.
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nativeVersion } from '../index';
import { ownList } from '../safe';
import { catCommand } from './cat';
import { type Context, Output } from './context';
import { EXIT_CODES, EXIT_INTERRUPTED, UsageError, describeFailure } from './exit';
import { infoCommand } from './info';
import { treeCommand } from './tree';

const COMMANDS: Record<string, (ctx: Context, args: string[]) => Promise<void>> = {
  tree: treeCommand,
  info: infoCommand,
  cat: catCommand,
};

/** Help of the options every subcommand takes. */
export const SHARED_HELP = `
Source options (every subcommand):
  --engine zarr|icechunk       force the format (default: detected)
  --branch B | --tag T | --snapshot S
                               icechunk version to read (default: branch main)
  --as-of ISO                  icechunk: the branch's state at this RFC 3339 time
  --max-concurrency N          cap on concurrent store requests
  --no-decode                  no CF decoding: stored values and dtypes
  --no-mask-and-scale          no _FillValue masking nor scale_factor/add_offset
  --no-decode-times            CF times stay numbers
Storage options (s3://, gs://, az://, abfs://, http(s)://):
  --anonymous                  unsigned requests (public data)
  --region R                   S3 region
  --endpoint URL               S3-compatible server, GCS base URL or Azure blob endpoint
  --allow-http                 allow http:// endpoints
  --storage-option key=value   any storageOptions key (repeatable), e.g. maxRetries=2
  Credentials come from the environment (AWS_*, GOOGLE_*, AZURE_*) and the AWS profile files.
Output:
  --stats                      print the store requests and bytes of the command to stderr
  -h, --help                   this help
`;

/** Help of `rustytree` itself. */
export const MAIN_HELP = `Usage: rustytree <command> <source> [arguments] [options]

Reads Zarr v3 stores and icechunk repositories (local paths, file://, s3://, gs://, az://, abfs://,
http(s)://) as xarray-style trees.

Commands:
  tree <source>                   the hierarchy: groups, dims, coordinates, variables, attributes
  info <source> <variable-path>   one variable's metadata and encoding
  cat <source> <variable-path>    its values (text, --json, --csv), optionally a --sel selection

rustytree <command> --help shows a command's options; rustytree --version the versions.
Exit status: 0 ok, 2 bad arguments, 3 not found, 1 internal error, 130 interrupted; docs/cli.md lists all.
`;

/** The CLI's version line: the package and the native addon it loaded. */
export function versionText(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return `rustytree ${pkg.version} (native addon ${nativeVersion()})\n`;
}

/** A copy of `argv`, which must be a list of strings (an embedder's `main` may be given anything). */
function commandLine(argv: unknown): string[] {
  const words = ownList('the command line', argv);
  if (!words?.every((w) => typeof w === 'string')) throw new UsageError('the command line must be a list of strings');
  return words as string[];
}

/** Streams and signal a run uses; tests and embedders may pass their own. */
export interface RunIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  /** Aborts the command as Ctrl-C does. */
  signal: AbortSignal;
}

/**
 * Runs one command line and returns its exit status, writing results to `io.stdout` and messages,
 * progress and `--stats` to `io.stderr`.
 * @param argv - the words after `rustytree`
 * @example
 * ```ts
 * const status = await main(['tree', 'fixtures/stores/names.zarr'], { stdout, stderr, signal })
 * ```
 */
export async function main(argv: string[], io: RunIo): Promise<number> {
  let words: string[];
  try {
    words = commandLine(argv);
  } catch (err) {
    io.stderr.write(`${describeFailure(err).text}\n`);
    return EXIT_CODES.ERR_INVALID_ARGUMENT;
  }
  const [command, ...rest] = words;
  const out = new Output(io.stdout);
  if (command === undefined) {
    io.stderr.write(MAIN_HELP);
    return EXIT_CODES.ERR_INVALID_ARGUMENT;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    const topic = rest[0] && Object.hasOwn(COMMANDS, rest[0]) ? rest[0] : undefined;
    if (topic) return main([topic, '--help'], io);
    await out.write(MAIN_HELP);
    await out.flush();
    return 0;
  }
  if (command === '--version' || command === '-V') {
    await out.write(versionText());
    await out.flush();
    return 0;
  }
  const ctx: Context = { out, err: io.stderr, signal: io.signal, sharedHelp: SHARED_HELP };
  const started = Date.now();
  // Options after a `--` terminator are positionals, so a source called `--stats` is not the flag.
  const end = rest.indexOf('--');
  const wantStats = (end < 0 ? rest : rest.slice(0, end)).includes('--stats');
  let status = 0;
  try {
    const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (!run) {
      throw new UsageError(
        command.startsWith('-')
          ? `expected a command before ${JSON.stringify(command)}`
          : `unknown command ${JSON.stringify(command)} (commands: ${Object.keys(COMMANDS).join(', ')})`,
      );
    }
    await run(ctx, rest);
    await out.flush();
  } catch (err) {
    await out.flush();
    const failure = describeFailure(err);
    io.stderr.write(`${failure.text}\n`);
    status = failure.code;
  }
  if (io.signal.aborted) status = EXIT_INTERRUPTED;
  if (wantStats && ctx.statsOf) {
    const s = ctx.statsOf();
    io.stderr.write(
      `rustytree: stats: requests=${s.requests} gets=${s.gets} rangedGets=${s.rangedGets} heads=${s.heads} ` +
        `lists=${s.lists} bytes=${s.bytes} roundTrips=${s.roundTrips} peakInFlight=${s.peakInFlight} elapsedMs=${Date.now() - started}\n`,
    );
  }
  return status;
}

/**
 * The process entry point of `bin/rustytree.js`: runs `process.argv`, maps Ctrl-C to an abort (a
 * second Ctrl-C exits at once) and sets the exit status.
 */
export async function run(): Promise<void> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  // A closed pipe (`rustytree cat ... | head`) ends the command quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const status = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
  process.off('SIGINT', onSigint);
  process.exitCode = status;
}
