import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The third-party test data in shared/testdata/external, which sits beside the checkout
 * (`../shared` from the repository root, as on developer machines and CI).
 */
const besideRepo = path.resolve(
  fileURLToPath(new URL('../../', import.meta.url)),
  '../shared/testdata/external',
);

export const EXTERNAL_TESTDATA = existsSync(besideRepo) ? besideRepo : '/work/shared/testdata/external';

export const external = (relative: string) => path.join(EXTERNAL_TESTDATA, relative);
