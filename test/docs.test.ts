import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../src/config.ts';
import { ERROR_CODES } from '../src/shared/errors.ts';
import { REASON_CODES } from '../src/validation/validation.codes.ts';
import { COMMANDS } from '../src/cli/commands/index.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README documents the public interface', () => {
  it.each(Object.keys(REASON_CODES))('reason code %s', (code) => {
    expect(readme).toContain(`\`${code}\``);
  });
  it.each(CONFIG_VARIABLES)('environment variable %s', (name) => {
    expect(readme).toContain(`\`${name}\``);
  });
  it.each(ERROR_CODES.filter((c) => c !== 'internal'))('error code %s', (code) => {
    expect(readme).toContain(`\`${code}\``);
  });
  it.each(COMMANDS.map((c) => c.name))('command %s', (name) => {
    expect(readme).toMatch(new RegExp('\\| `' + name + '[ `]'));
  });
  it('gives the two set-up commands', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
  });
});
