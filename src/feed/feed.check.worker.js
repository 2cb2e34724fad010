// Worker bootstrap: load tsx in this thread so the checker can be written in TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./feed.check.worker.ts');
