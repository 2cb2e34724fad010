/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for tests. prom-client only
 * writes the format, and the npm parser we tried (parse-prometheus-text-format 1.1.1) merges every
 * series of a labelled histogram into one and drops _sum/_count, so it could not check ours.
 * This one refuses what Prometheus would refuse: a sample before its TYPE, a bad line, a
 * duplicate series, a histogram whose buckets are not cumulative or whose +Inf is not its count.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/;

/**
 * Prometheus reads values with Go's ParseFloat, which takes Inf and NaN in any letter case; and
 * prom-client writes NaN as "Nan" (e.g. an event-loop lag gauge before its first sample).
 */
function parseValue(v: string): number {
  if (/^\+?inf$/i.test(v)) return Infinity;
  if (/^-inf$/i.test(v)) return -Infinity;
  if (/^nan$/i.test(v)) return NaN;
  if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(v)) throw new Error(`bad value ${v}`);
  return Number(v);
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.trim() !== '') {
    const m = LABEL.exec(rest);
    if (!m) throw new Error(`bad labels {${text}}`);
    if (m[1]! in labels) throw new Error(`label ${m[1]} twice in {${text}}`);
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(m[0].length);
  }
  return labels;
}

const SUFFIXES: Record<MetricType, string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  let current: Family | null = null;
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const where = `line ${i + 1}: ${line}`;
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line))) {
      current = families.get(m[1]!) ?? { name: m[1]!, type: 'untyped', help: '', samples: [] };
      current.help = m[2]!;
      families.set(current.name, current);
    } else if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      current = families.get(m[1]!) ?? { name: m[1]!, type: 'untyped', help: '', samples: [] };
      if (current.samples.length) throw new Error(`TYPE after samples, ${where}`);
      current.type = m[2] as MetricType;
      families.set(current.name, current);
    } else if (line.startsWith('#')) {
      continue;
    } else if ((m = SAMPLE.exec(line))) {
      const name = m[1]!;
      if (!current || !SUFFIXES[current.type].some((s) => `${current!.name}${s}` === name))
        throw new Error(`sample outside its family, ${where}`);
      const labels = parseLabels(m[2] ?? '');
      const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
      if (seen.has(key)) throw new Error(`duplicate series, ${where}`);
      seen.add(key);
      current.samples.push({ name, labels, value: parseValue(m[3]!) });
    } else {
      throw new Error(`not the text format, ${where}`);
    }
  }
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

export interface HistogramSeries {
  labels: Record<string, string>;
  buckets: [number, number][];
  sum: number;
  count: number;
}

/** The series of a histogram, by their labels (without le). */
export function histogramSeries(f: Family): HistogramSeries[] {
  const byKey = new Map<string, HistogramSeries>();
  for (const s of f.samples) {
    const { le, ...labels } = s.labels;
    const key = JSON.stringify(Object.entries(labels).sort());
    const h = byKey.get(key) ?? { labels, buckets: [], sum: NaN, count: NaN };
    byKey.set(key, h);
    if (s.name.endsWith('_bucket')) h.buckets.push([parseValue(le!), s.value]);
    else if (s.name.endsWith('_sum')) h.sum = s.value;
    else h.count = s.value;
  }
  return [...byKey.values()];
}

function checkHistogram(f: Family): void {
  for (const h of histogramSeries(f)) {
    const sorted = [...h.buckets].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++)
      if (sorted[i]![1] < sorted[i - 1]![1]) throw new Error(`${f.name}: buckets not cumulative`);
    if (sorted.at(-1)?.[0] !== Infinity || sorted.at(-1)![1] !== h.count || Number.isNaN(h.sum))
      throw new Error(`${f.name}: +Inf bucket, _sum and _count must agree`);
  }
}
