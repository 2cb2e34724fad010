import { createReadStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { FEED_FILES } from '../feed/feed.layout.ts';

/**
 * Reads a published version's run report (catalog.report.json, written by RunReport.writeJson:
 * a header with counts per code, then one issue per line). Without a database: the report next
 * to the feed is the truth about what that feed left out.
 */

export interface RejectedCode {
  code: string;
  severity: string;
  count: number;
  description: string;
  /** The first few ids (stock issues as productId/warehouseId). */
  sampleIds: string[];
}

const SAMPLES = 5;
/** Sample ids come from the first issues only: a report of a million lines is not read whole. */
const MAX_SAMPLE_LINES = 20_000;

interface IssueLine {
  code?: string;
  entity?: string;
  id?: string | null;
  warehouseId?: string | null;
}

/** `    {...},` → the issue, or null for the header and the closing lines. */
function issueOf(line: string): IssueLine | null {
  const t = line.trim().replace(/,$/, '');
  if (!t.startsWith('{"')) return null;
  try {
    return JSON.parse(t) as IssueLine;
  } catch {
    return null;
  }
}

const idOf = (i: IssueLine) =>
  i.entity === 'stock' && i.id != null ? `${i.id}/${i.warehouseId ?? ''}` : String(i.id ?? '(no id)');

/** Counts per code with sample ids; null when the version has no report. */
export async function readRejected(versionDir: string): Promise<RejectedCode[] | null> {
  const lines = createInterface({
    input: createReadStream(path.join(versionDir, FEED_FILES.report)),
    crlfDelay: Infinity,
  });
  const head: string[] = [];
  type Codes = Record<string, { severity: string; count: number; description: string }>;
  let codes: Codes | null = null;
  const samples = new Map<string, string[]>();
  let read = 0;
  try {
    for await (const line of lines) {
      if (codes === null) {
        if (line.trim() !== '"issues": [') {
          head.push(line);
          continue;
        }
        const header = JSON.parse(`${head.join('\n').replace(/,\s*$/, '')}}`) as { codes?: Codes };
        codes = header.codes ?? {};
        if (Object.keys(codes).length === 0) break;
        continue;
      }
      const issue = issueOf(line);
      if (issue?.code) {
        const s = samples.get(issue.code) ?? [];
        const id = idOf(issue);
        if (s.length < SAMPLES && !s.includes(id)) samples.set(issue.code, [...s, id]);
      }
      if (++read >= MAX_SAMPLE_LINES) break;
      const all: Codes = codes;
      if (Object.keys(all).every((c) => (samples.get(c)?.length ?? 0) >= Math.min(SAMPLES, all[c]!.count)))
        break;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  } finally {
    lines.close();
  }
  if (codes === null) return null;
  return Object.entries(codes)
    .map(([code, c]) => ({ code, ...c, sampleIds: samples.get(code) ?? [] }))
    .sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : 1));
}

/** Every issue of one code in the report, as JSON lines (what the "full list" link serves). */
export async function* issuesOfCode(versionDir: string, code: string): AsyncGenerator<string> {
  const lines = createInterface({
    input: createReadStream(path.join(versionDir, FEED_FILES.report)),
    crlfDelay: Infinity,
  });
  try {
    for await (const line of lines) {
      const issue = issueOf(line);
      if (issue?.code === code) yield `${JSON.stringify(issue)}\n`;
    }
  } finally {
    lines.close();
  }
}
