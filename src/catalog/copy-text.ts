/**
 * Parser for PostgreSQL's COPY ... TO STDOUT text format: rows end with \n, fields are separated by
 * \t, NULL is the field \N, and backslash escapes \\ \b \f \n \r \t \v (plus octal/hex) stand for
 * the characters they name. Chunks may split rows (and UTF-8 sequences) anywhere: only whole lines
 * are decoded, so a multi-byte character is never cut.
 */
export type CopyRow = (string | null)[];

const NL = 0x0a;

function unescapeField(field: string): string | null {
  if (field === '\\N') return null;
  if (field.indexOf('\\') === -1) return field;
  let out = '';
  for (let i = 0; i < field.length; i++) {
    const c = field[i];
    if (c !== '\\' || i === field.length - 1) {
      out += c;
      continue;
    }
    const n = field[++i];
    switch (n) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x': {
        const m = /^[0-9a-fA-F]{1,2}/.exec(field.slice(i + 1, i + 3));
        if (m) {
          out += String.fromCharCode(parseInt(m[0], 16));
          i += m[0].length;
        } else out += 'x';
        break;
      }
      default:
        if (n >= '0' && n <= '7') {
          const m = /^[0-7]{1,3}/.exec(field.slice(i, i + 3))!;
          out += String.fromCharCode(parseInt(m[0], 8));
          i += m[0].length - 1;
        } else out += n;
    }
  }
  return out;
}

export function parseCopyLine(line: string): CopyRow {
  const fields = line.split('\t');
  const row: CopyRow = new Array(fields.length);
  for (let i = 0; i < fields.length; i++) row[i] = unescapeField(fields[i]);
  return row;
}

/**
 * Turn a stream of COPY text chunks into rows, keeping at most one partial line in memory. Only
 * the partial line is copied when it is completed by the next chunk; the rest of a chunk is
 * decoded in place.
 */
export async function* copyRows(chunks: AsyncIterable<Buffer>): AsyncGenerator<CopyRow[]> {
  let rest: Buffer | null = null;
  for await (const chunk of chunks) {
    let from = 0;
    const rows: CopyRow[] = [];
    if (rest) {
      const nl = chunk.indexOf(NL);
      if (nl === -1) {
        rest = Buffer.concat([rest, chunk]);
        continue;
      }
      rows.push(parseCopyLine(Buffer.concat([rest, chunk.subarray(0, nl)]).toString('utf8')));
      rest = null;
      from = nl + 1;
    }
    const last = chunk.lastIndexOf(NL);
    if (last >= from) {
      const lines = chunk.toString('utf8', from, last).split('\n');
      for (let i = 0; i < lines.length; i++) rows.push(parseCopyLine(lines[i]));
      from = last + 1;
    }
    if (from < chunk.length) rest = Buffer.from(chunk.subarray(from));
    if (rows.length > 0) yield rows;
  }
  if (rest && rest.length > 0) yield [parseCopyLine(rest.toString('utf8'))];
}

export type CopyField = string | null;

const NEEDS_ESCAPE = /[\\\n\r\t]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One field in COPY text format (the writing side): NULL is \N; backslash, tab, newline and CR are escaped. */
export function copyField(value: CopyField): string {
  if (value === null) return '\\N';
  return NEEDS_ESCAPE.test(value) ? value.replace(/[\\\n\r\t]/g, (c) => ESCAPES[c]!) : value;
}

/** One row in COPY text format, with its newline. */
export function copyRow(fields: readonly CopyField[]): string {
  let line = copyField(fields[0] ?? null);
  for (let i = 1; i < fields.length; i++) line += `\t${copyField(fields[i] ?? null)}`;
  return `${line}\n`;
}
