import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from '../feed/feed.harness.ts';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('flags the command does not take', () => {
  it('names the unknown flag, guesses the meant one, lists the flags, exit 2, no Node parser wording', async () => {
    const run = await runCli(['feed', '--froce'], {});
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      "rr-sync feed: unknown flag --froce for 'rr-sync feed' (did you mean --force?)\n" +
        "'rr-sync feed' takes: --dry-run, --force, --json, --help\n",
    );
  });

  it('lists the flags of the command at hand, with their values', async () => {
    const run = await runCli(['demo', '--size', '5'], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      "rr-sync demo: unknown flag --size for 'rr-sync demo'\n" +
        "'rr-sync demo' takes: --products <value>, --seed <value>, --json, --help\n",
    );
  });

  it('explains a missing value, a value given to a switch, and a flag taken for a value', async () => {
    const missing = await runCli(['demo', '--products'], {});
    expect(missing.code).toBe(2);
    expect(missing.stderr.split('\n')[0]).toBe('rr-sync demo: --products needs a value: --products <value>');
    const switchValue = await runCli(['feed', '--force=yes'], {});
    expect(switchValue.code).toBe(2);
    expect(switchValue.stderr.split('\n')[0]).toBe('rr-sync feed: --force takes no value (got --force=yes)');
    const ambiguous = await runCli(['demo', '--products', '--json'], {});
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr.split('\n')[0]).toBe(
      'rr-sync demo: --products needs a value but is followed by the flag --json; write --products=--json if that is the value',
    );
  });

  it('a short flag it does not know is named as typed', async () => {
    const run = await runCli(['migrate', '-x'], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown flag -x for 'rr-sync migrate'");
    expect(run.stderr).not.toMatch(/positional|quote/i);
  });

  it('-h is --help', async () => {
    const run = await runCli(['migrate', '-h'], {});
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^rr-sync migrate\n/);
  });
});

describe('commands and version', () => {
  it('rr-sync --version prints the package version', async () => {
    for (const flag of ['--version', '-v']) {
      const run = await runCli([flag], {});
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`rr-sync ${version}\n`);
    }
  });

  it('an unknown command is named, with the list of commands, exit 2', async () => {
    const run = await runCli(['feeds'], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^rr-sync <command> \[flags\]/);
    expect(run.stderr).toContain(
      "rr-sync: unknown command 'feeds'; commands: start, migrate, feed, validate, sync, resync, push, dead-letters, serve, run, status, demo, emulator\n",
    );
  });

  it('no command: the help on stderr, exit 2; --help: the help on stdout, exit 0', async () => {
    const none = await runCli([], {});
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('no command given');
    const help = await runCli(['--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Global flags: --json (one JSON line on stdout), --help, --version');
  });
});
