import { parseArgs } from 'node:util';
import { AppError } from '../shared/errors.ts';
import type { FlagSpec } from './command.ts';

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

const flagList = (specs: Record<string, FlagSpec>) =>
  Object.entries(specs)
    .map(([n, f]) => `--${n}${f.type === 'string' ? ' <value>' : ''}`)
    .join(', ');

/** The flag the user most likely meant: same prefix, or at most two edits away. */
function closest(name: string, known: string[]): string | undefined {
  const distance = (a: string, b: string) => {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const row = [i];
      for (let j = 1; j <= b.length; j++) {
        row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      }
      prev = row;
    }
    return prev[b.length]!;
  };
  return known
    .map((k) => ({ k, d: k.startsWith(name) || name.startsWith(k) ? 1 : distance(name, k) }))
    .filter((c) => c.d <= 2)
    .sort((a, b) => a.d - b.d)[0]?.k;
}

/**
 * parseArgs in strict mode answers an unknown flag with Node's own wording (a hint about
 * positionals and unbalanced quotes) and no list of what the command takes. We parse leniently,
 * keep the tokens, and judge each one ourselves so the message names the flag and the choices.
 */
export function parseFlags(command: string, args: string[], specs: Record<string, FlagSpec>): ParsedArgs {
  const { values, positionals, tokens } = parseArgs({
    args,
    options: Object.fromEntries(
      Object.entries(specs).map(([n, f]) => [
        n,
        { type: f.type, multiple: f.multiple ?? false, ...(f.short ? { short: f.short } : {}) },
      ]),
    ),
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const usage = (message: string, details: Record<string, unknown>) =>
    new AppError('usage.invalid', `${message}\n'rr-sync ${command}' takes: ${flagList(specs)}`, {
      details: { command, ...details, flags: Object.keys(specs).map((n) => `--${n}`) },
    });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const spec = specs[t.name];
    if (!spec) {
      const guess = closest(t.name, Object.keys(specs));
      throw usage(
        `unknown flag ${t.rawName} for 'rr-sync ${command}'${guess ? ` (did you mean --${guess}?)` : ''}`,
        { flag: t.rawName },
      );
    }
    if (spec.type === 'boolean' && t.inlineValue) {
      throw usage(`${t.rawName} takes no value (got ${t.rawName}=${t.value ?? ''})`, { flag: t.rawName });
    }
    if (spec.type === 'string' && t.value === undefined) {
      throw usage(`${t.rawName} needs a value: ${t.rawName} <value>`, { flag: t.rawName });
    }
    if (spec.type === 'string' && !t.inlineValue && t.value?.startsWith('-')) {
      throw usage(
        `${t.rawName} needs a value but is followed by the flag ${t.value}; write ${t.rawName}=${t.value} if that is the value`,
        { flag: t.rawName },
      );
    }
  }
  return { values: values as ParsedArgs['values'], positionals };
}
