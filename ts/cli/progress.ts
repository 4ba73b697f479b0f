/**
 * A progress bar on stderr for long reads. It never writes to stdout, and in `auto` mode it appears only
 * on a terminal and only once a read has taken a second, so quick commands and pipes see nothing.
 * @module
 */

/** `auto`: on a TTY after one second; `always`: at once, even when stderr is not a TTY; `never`. */
export type ProgressMode = 'auto' | 'always' | 'never';

/** How long a read runs before `auto` shows the bar. */
export const PROGRESS_DELAY_MS = 1000;

/**
 * A bar of `total` units (array elements) drawn on `stream`.
 * @example
 * ```ts
 * const bar = new ProgressBar(process.stderr, 'auto', 1000, 'DBZH')
 * bar.advance(250)
 * bar.done()
 * ```
 */
export class ProgressBar {
  private doneUnits = 0;
  private shown = false;
  private readonly started = Date.now();
  private lastDraw = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly mode: ProgressMode,
    private readonly total: number,
    private readonly label: string,
  ) {}

  /** Whether the bar may ever be drawn for this mode and stream. */
  get enabled(): boolean {
    return this.mode === 'always' || (this.mode === 'auto' && this.stream.isTTY === true);
  }

  /** Counts `units` more as done and redraws (at most every 100 ms, except the last draw). */
  advance(units: number): void {
    this.doneUnits += units;
    if (!this.enabled) return;
    const now = Date.now();
    if (!this.shown && this.mode === 'auto' && now - this.started < PROGRESS_DELAY_MS) return;
    if (this.doneUnits < this.total && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.shown = true;
    this.draw();
  }

  /** Ends the bar's line, if it was drawn. */
  done(): void {
    if (this.shown) this.stream.write('\n');
  }

  private draw(): void {
    const width = 30;
    const fraction = this.total ? this.doneUnits / this.total : 1;
    const filled = Math.round(fraction * width);
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    this.stream.write(
      `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(fraction * 100)}% ` +
        `${this.doneUnits}/${this.total} ${seconds}s`,
    );
  }
}
