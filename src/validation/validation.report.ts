import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { REASON_CODES, severityOf, type ReasonCode, type Severity } from './validation.codes.ts';

export type Entity = 'product' | 'category' | 'warehouse' | 'stock';

export interface Issue {
  code: ReasonCode;
  entity: Entity;
  /** The offending item's id as read (may itself be the problem). */
  id: string | null;
  /** For stock rows: the warehouse id (id is then the product id). */
  warehouseId?: string | null;
  field?: string;
  /** The offending value, cut to 200 characters. */
  value?: string | null;
}

const SAMPLES_PER_CODE = 20;
const FLUSH_AT = 64 * 1024;

export interface ReportCounts {
  errors: number;
  warnings: number;
  byCode: Partial<Record<ReasonCode, number>>;
}

/**
 * Collects validation issues for one run. Counts and a few samples per code stay in memory;
 * every issue goes to an NDJSON spool file, so a catalog with a million bad rows still has a
 * complete report at flat memory. `writeJson` assembles the final report from the spool.
 */
export class RunReport {
  private readonly counts = new Map<ReasonCode, number>();
  private readonly samples = new Map<ReasonCode, Issue[]>();
  private readonly spool: WriteStream | null;
  private pending = '';
  /** A spool that cannot be written (full disk, read-only FEEDS_DIR) fails the run, never the process. */
  private spoolError: Error | null = null;

  constructor(private readonly spoolPath: string | null) {
    this.spool = spoolPath ? createWriteStream(spoolPath) : null;
    this.spool?.on('error', (e) => (this.spoolError ??= e));
  }

  add(issue: Issue): void {
    if (issue.value !== undefined && issue.value !== null && issue.value.length > 200) {
      issue = { ...issue, value: `${issue.value.slice(0, 200)}…` };
    }
    this.counts.set(issue.code, (this.counts.get(issue.code) ?? 0) + 1);
    let s = this.samples.get(issue.code);
    if (!s) this.samples.set(issue.code, (s = []));
    if (s.length < SAMPLES_PER_CODE) s.push(issue);
    if (this.spool) {
      this.pending += `${JSON.stringify({ severity: severityOf(issue.code), ...issue })}\n`;
      if (this.pending.length >= FLUSH_AT) {
        this.spool.write(this.pending);
        this.pending = '';
      }
    }
  }

  /** Wait for the spool file when it has fallen behind (keeps memory flat). */
  async drain(): Promise<void> {
    if (this.spoolError) throw this.spoolError;
    if (this.spool?.writableNeedDrain) await once(this.spool, 'drain');
  }

  count(code: ReasonCode): number {
    return this.counts.get(code) ?? 0;
  }

  totals(): ReportCounts {
    let errors = 0;
    let warnings = 0;
    const byCode: Partial<Record<ReasonCode, number>> = {};
    for (const [code, n] of [...this.counts].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      byCode[code] = n;
      if (severityOf(code) === 'error') errors += n;
      else warnings += n;
    }
    return { errors, warnings, byCode };
  }

  /**
   * The first `max` distinct ids per code (stock issues as `productId/warehouseId`), for the
   * human summary: what was left out, at a glance, without opening the report.
   */
  firstIds(max = 5): Partial<Record<ReasonCode, (string | null)[]>> {
    const out: Partial<Record<ReasonCode, (string | null)[]>> = {};
    for (const code of Object.keys(this.totals().byCode) as ReasonCode[]) {
      const ids: (string | null)[] = [];
      for (const i of this.samples.get(code) ?? []) {
        const id = i.entity === 'stock' && i.id !== null ? `${i.id}/${i.warehouseId ?? ''}` : i.id;
        if (!ids.includes(id)) ids.push(id);
        if (ids.length === max) break;
      }
      out[code] = ids;
    }
    return out;
  }

  /** Counts per code with severity, description and the first issues: what the DB keeps. */
  summary(): Record<string, { severity: Severity; count: number; description: string; first: Issue[] }> {
    const out: Record<string, { severity: Severity; count: number; description: string; first: Issue[] }> =
      {};
    for (const code of Object.keys(this.totals().byCode) as ReasonCode[]) {
      out[code] = {
        severity: severityOf(code),
        count: this.counts.get(code)!,
        description: REASON_CODES[code][1],
        first: this.samples.get(code) ?? [],
      };
    }
    return out;
  }

  private async closeSpool(): Promise<void> {
    if (!this.spool) return;
    if (this.pending && !this.spoolError) this.spool.write(this.pending);
    this.pending = '';
    if (!this.spool.closed && !this.spool.destroyed) {
      this.spool.end();
      await once(this.spool, 'close');
    }
  }

  /**
   * Write the full JSON report: `header` fields, then `codes` (counts per code), then `issues`
   * (every issue, streamed from the spool).
   */
  async writeJson(path: string, header: Record<string, unknown>): Promise<void> {
    await this.closeSpool();
    if (this.spoolError) throw this.spoolError;
    const out = createWriteStream(path);
    let outError: Error | null = null;
    out.on('error', (e) => (outError ??= e));
    const codes = Object.fromEntries(
      Object.entries(this.summary()).map(([code, s]) => [
        code,
        { severity: s.severity, count: s.count, description: s.description },
      ]),
    );
    const head = JSON.stringify({ ...header, codes }, null, 2);
    out.write(`${head.slice(0, head.lastIndexOf('}')).trimEnd()},\n  "issues": [`);
    let first = true;
    if (this.spoolPath) {
      const lines = createInterface({ input: createReadStream(this.spoolPath), crlfDelay: Infinity });
      for await (const line of lines) {
        if (!line) continue;
        if (outError) throw outError;
        if (!out.write(`${first ? '\n    ' : ',\n    '}${line}`)) await once(out, 'drain');
        first = false;
      }
    }
    out.end(`${first ? '' : '\n  '}]\n}\n`);
    if (!out.closed) await once(out, 'close');
    if (outError) throw outError;
  }

  async dispose(): Promise<void> {
    await this.closeSpool();
    if (this.spoolPath) await rm(this.spoolPath, { force: true });
  }
}
