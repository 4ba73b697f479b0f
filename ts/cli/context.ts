/**
 * What a subcommand runs with: where its output goes, the abort signal of Ctrl-C, and how `--stats`
 * finds the request counts of what it opened.
 * @module
 */
import type { RequestStats } from '../dataset';

/**
 * Buffered writes to a stream that wait for `drain`, so a large `cat` neither piles its whole output
 * up in memory nor loses the end of it when the process exits.
 */
export class Output {
  private buffer: string[] = [];
  private size = 0;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  /**
   * Queues `text`; flushes once 64 KiB are queued.
   * @example
   * ```ts
   * const out = new Output(process.stdout)
   * await out.write('hello\n')
   * await out.flush()
   * ```
   */
  async write(text: string): Promise<void> {
    this.buffer.push(text);
    this.size += text.length;
    if (this.size >= 65536) await this.flush();
  }

  /** Writes what is queued and waits until the stream takes more. */
  async flush(): Promise<void> {
    if (!this.buffer.length) return;
    const text = this.buffer.join('');
    this.buffer = [];
    this.size = 0;
    if (!this.stream.write(text)) await new Promise<void>((resolve) => this.stream.once('drain', resolve));
  }
}

/** The run of one subcommand. */
export interface Context {
  /** Standard output (results only). */
  out: Output;
  /** Standard error (progress, `--stats`, messages). */
  err: NodeJS.WriteStream;
  /** Fires on Ctrl-C; passed to every open and read. */
  signal: AbortSignal;
  /** Help of the options every subcommand shares, appended to each subcommand's help. */
  sharedHelp: string;
  /** Set by a subcommand once it has opened its source, for `--stats`. */
  statsOf?: () => RequestStats;
}
