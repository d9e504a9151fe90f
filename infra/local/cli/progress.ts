/**
 * What the CLI shows while it works, in one of three forms:
 * - `tty`: a progress bar on stderr (files and bytes done, rate, ETA), redrawn at most 10 times a second, with
 *   failures and bad lines printed above it as they happen;
 * - `plain`: one line per finished item on stderr (logs and CI output stay readable);
 * - `json`: one JSON object per event on stdout, then the summary object, for machines.
 * The summary always ends the output (stdout for plain and tty, a `summary` event for json).
 */

export type ItemEvent =
  | {
      type: 'copied';
      id: string;
      key: string;
      objectKey: string;
      bytes: number;
      ms: number;
      /** The file's SHA-256 and whether the source's checksum vouched for the bytes (the proof record has all). */
      sha256?: string;
      sourceVerified?: boolean;
    }
  | { type: 'skipped'; id: string; key: string; objectKey: string; reason: string }
  | {
      type: 'failed';
      id: string;
      key: string;
      objectKey?: string;
      code: string;
      message: string;
      retryable: boolean;
    }
  | {
      type: 'planned';
      id: string;
      key: string;
      objectKey: string;
      /** The target bucket, when one is known (a dry run needs none). */
      bucket?: string;
      fileName?: string;
      size?: number;
    }
  | { type: 'bad_line'; line: number; message: string; code?: string }
  | { type: 'info'; message: string; [field: string]: unknown };

export interface Totals {
  refs: number;
  copied: number;
  skipped: number;
  failed: number;
  bytes: number;
  badLines: number;
  planned: number;
  /** Refs a resumed job had settled before this run (copied or skipped then); not copied again. */
  alreadyDone: number;
  /** Of `failed`: refs stopped by Ctrl-C (or a run that stopped as a whole) before they finished. */
  cancelled: number;
}

export interface Summary {
  type: 'summary';
  command: string;
  ok: boolean;
  aborted: boolean;
  exitCode: number;
  durationMs: number;
  totals: Totals;
  [field: string]: unknown;
}

/** What a command hands to finish(): its own fields plus any totals it wants to override. */
export interface SummaryInput {
  command: string;
  ok: boolean;
  aborted: boolean;
  exitCode: number;
  totals?: Partial<Totals>;
  /** The human summary line, for commands whose totals are not files copied (verify); never in the JSON. */
  humanLine?: (summary: Summary) => string;
  [field: string]: unknown;
}

export type OutputMode = 'tty' | 'plain' | 'json';

export interface Output {
  write(text: string): void;
  isTTY?: boolean;
  columns?: number;
}

export interface ReporterOptions {
  mode: OutputMode;
  /** Where results and JSON go (stdout). */
  out: Output;
  /** Where the bar, progress lines and warnings go (stderr). */
  err: Output;
  now?: () => number;
  /** Smallest gap between two redraws of the bar. */
  redrawMs?: number;
}

export function chooseMode(json: boolean, err: Output): OutputMode {
  if (json) return 'json';
  return err.isTTY === true && process.env.TERM !== 'dumb' ? 'tty' : 'plain';
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '--:--';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const p = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${p(m)}:${p(sec)}` : `${p(m)}:${p(sec)}`;
}

export class Reporter {
  readonly totals: Totals = {
    refs: 0,
    copied: 0,
    skipped: 0,
    failed: 0,
    bytes: 0,
    badLines: 0,
    planned: 0,
    alreadyDone: 0,
    cancelled: 0,
  };
  readonly #o: ReporterOptions;
  readonly #now: () => number;
  readonly #started: number;
  readonly #redrawMs: number;
  #liveFiles = 0;
  #liveBytes = 0;
  #lastDraw = 0;
  #drawTimer: NodeJS.Timeout | undefined;
  #barShown = false;
  #label = '';

  constructor(options: ReporterOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#started = this.#now();
    this.#redrawMs = options.redrawMs ?? 100;
  }

  get mode(): OutputMode {
    return this.#o.mode;
  }

  /** Known total of refs to work through (grows as a manifest is read). */
  addRefs(n: number): void {
    this.totals.refs += n;
    this.#scheduleDraw();
  }

  /** Refs of a resumed job that an earlier run settled (counted, not listed one by one). */
  addAlreadyDone(n: number): void {
    this.totals.alreadyDone += n;
    this.#scheduleDraw();
  }

  /** Refs a run that stopped as a whole did not finish: counted as failed (and cancelled), said in one line. */
  countUnfinished(n: number): void {
    this.totals.failed += n;
    this.totals.cancelled += n;
    this.#scheduleDraw();
  }

  setLabel(label: string): void {
    this.#label = label;
    this.#scheduleDraw();
  }

  /**
   * Progress not yet in the totals (the bar only): files finished and bytes streamed by batches whose results
   * have not been reported yet. Results replace these numbers when their batch reports.
   */
  setLive(files: number, bytes: number): void {
    this.#liveFiles = files;
    this.#liveBytes = bytes;
    this.#scheduleDraw();
  }

  event(e: ItemEvent): void {
    this.events([e]);
  }

  /** A batch's events: counted one by one, written with one write per stream (not one per file). */
  events(list: readonly ItemEvent[]): void {
    let out = '';
    let err = '';
    for (const e of list) {
      this.#count(e);
      if (this.#o.mode === 'json') {
        out += `${JSON.stringify(e)}\n`;
        continue;
      }
      const line = this.#lineFor(e);
      if (line === undefined) continue;
      // Results of a dry run are the command's output; the rest is progress, on stderr.
      if (e.type === 'planned') out += `${line}\n`;
      else err += `${line}\n`;
    }
    if (err !== '') this.#above(err, this.#o.err);
    if (out !== '') this.#above(out, this.#o.out);
    if (out === '' && err === '') this.#scheduleDraw();
  }

  #count(e: ItemEvent): void {
    switch (e.type) {
      case 'copied':
        this.totals.copied += 1;
        this.totals.bytes += e.bytes;
        break;
      case 'skipped':
        this.totals.skipped += 1;
        break;
      case 'failed':
        this.totals.failed += 1;
        if (e.code === 'cancelled') this.totals.cancelled += 1;
        break;
      case 'bad_line':
        this.totals.badLines += 1;
        break;
      case 'planned':
        this.totals.planned += 1;
        break;
      default:
        break;
    }
  }

  /** A warning or note for people (never in JSON mode's stdout). */
  note(message: string): void {
    if (this.#o.mode === 'json') {
      this.#o.err.write(`${message}\n`);
      return;
    }
    this.#above(`${message}\n`, this.#o.err);
  }

  #lineFor(e: ItemEvent): string | undefined {
    switch (e.type) {
      case 'copied':
        return this.#o.mode === 'tty' ? undefined : `copied   ${e.objectKey}  (${formatBytes(e.bytes)})`;
      case 'skipped':
        return this.#o.mode === 'tty' ? undefined : `skipped  ${e.objectKey}  (${e.reason})`;
      case 'failed':
        // Refs a Ctrl-C stopped are said once, in the summary, not one line each.
        if (e.code === 'cancelled') return undefined;
        return `failed   ${e.id} ${JSON.stringify(e.key)}: ${e.code}: ${e.message}`;
      case 'bad_line':
        return `line ${e.line}: ${e.code ? `${e.code}: ` : ''}${e.message}`;
      case 'planned':
        return `would write  ${e.bucket ? `s3://${e.bucket}/` : ''}${e.objectKey}${e.size === undefined ? '' : `  (${formatBytes(e.size)})`}  ← ${e.id}`;
      case 'info':
        return e.message;
      default:
        return undefined;
    }
  }

  /** `lines`: whole lines, each ending in a newline. */
  #above(lines: string, target: Output): void {
    if (this.#o.mode === 'tty' && this.#barShown) {
      this.#o.err.write('\r\x1b[2K');
      this.#barShown = false;
    }
    target.write(lines);
    this.#scheduleDraw();
  }

  #scheduleDraw(): void {
    if (this.#o.mode !== 'tty') return;
    const now = this.#now();
    const wait = this.#lastDraw + this.#redrawMs - now;
    if (wait <= 0) {
      this.#draw();
      return;
    }
    if (this.#drawTimer) return;
    this.#drawTimer = setTimeout(() => {
      this.#drawTimer = undefined;
      this.#draw();
    }, wait);
    this.#drawTimer.unref();
  }

  /** The bar's text (exported through the class for tests). */
  barText(): string {
    const t = this.totals;
    const done = Math.min(
      t.refs,
      t.copied + t.skipped + t.failed + t.planned + t.alreadyDone + this.#liveFiles,
    );
    const elapsed = this.#now() - this.#started;
    const bytes = t.bytes + this.#liveBytes;
    const rate = elapsed > 0 ? (bytes * 1000) / elapsed : 0;
    const remaining = Math.max(0, t.refs - done);
    const eta = done > 0 && remaining > 0 ? (elapsed / done) * remaining : remaining === 0 ? 0 : Number.NaN;
    const width = 20;
    const ratio = t.refs > 0 ? Math.min(1, done / t.refs) : 0;
    const filled = Math.round(ratio * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const failed = t.failed > 0 ? `  ${t.failed} failed` : '';
    const label = this.#label ? `${this.#label} ` : '';
    return `${label}${bar} ${done}/${t.refs} files  ${formatBytes(bytes)}  ${formatBytes(rate)}/s  ETA ${formatDuration(eta)}${failed}`;
  }

  #draw(): void {
    this.#lastDraw = this.#now();
    const columns = this.#o.err.columns ?? 100;
    const text = this.barText();
    this.#o.err.write(`\r\x1b[2K${text.length > columns - 1 ? text.slice(0, columns - 1) : text}`);
    this.#barShown = true;
  }

  /** Ends the output with the summary; returns it. */
  finish(summary: SummaryInput): Summary {
    if (this.#drawTimer) clearTimeout(this.#drawTimer);
    this.#drawTimer = undefined;
    if (this.#o.mode === 'tty' && this.#barShown) {
      this.#draw();
      this.#o.err.write('\n');
      this.#barShown = false;
    }
    const { humanLine, ...fields } = summary;
    const full: Summary = {
      ...fields,
      type: 'summary',
      durationMs: this.#now() - this.#started,
      totals: { ...this.totals, ...summary.totals },
    };
    if (this.#o.mode === 'json') {
      this.#o.out.write(`${JSON.stringify(full)}\n`);
    } else {
      this.#o.out.write(`${humanLine ? humanLine(full) : humanSummary(full)}\n`);
    }
    return full;
  }
}

export function humanSummary(s: Summary): string {
  const t = s.totals;
  const parts = [
    `${t.refs} refs`,
    `${t.copied} copied (${formatBytes(t.bytes)})`,
    `${t.skipped} skipped`,
    `${t.failed} failed${t.cancelled > 0 ? ` (${t.cancelled} cancelled)` : ''}`,
  ];
  if (t.alreadyDone > 0) parts.splice(1, 0, `${t.alreadyDone} already done`);
  if (t.planned > 0) parts.push(`${t.planned} planned (dry run)`);
  if (t.badLines > 0) parts.push(`${t.badLines} bad lines`);
  const status = s.aborted ? 'ABORTED' : s.ok ? 'OK' : 'FAILED';
  return `${s.command}: ${status}: ${parts.join(', ')} in ${formatDuration(s.durationMs)}`;
}
