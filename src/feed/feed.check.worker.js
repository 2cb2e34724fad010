// Self-check worker, plain JavaScript so that the thread needs no TypeScript loader.
//
// It follows the temporary catalog.xml while the writer is still writing it (the main
// thread posts how many bytes are on disk) and reads the FILE back, not the writer's buffers, so
// what is checked is what will be served.
import { open } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { FeedChecker } from './feed.check.js';

/** @type {{ path: string, headerLength: number }} */
const data = workerData;
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);

/**
 * The writer creates the file asynchronously: wait for it briefly instead of failing.
 * @param {string} file
 */
async function openWhenCreated(file) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await open(file, 'r');
    } catch (e) {
      if (/** @type {NodeJS.ErrnoException} */ (e).code !== 'ENOENT' || attempt > 100) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function checkXml() {
  const checker = new FeedChecker(data.headerLength);
  const fh = await openWhenCreated(data.path);
  const buf = Buffer.allocUnsafe(1 << 20);
  let allowed = 0;
  let total = -1;
  let pos = 0;
  /** @type {(() => void) | null} */
  let wake = null;
  port.on('message', (/** @type {{ type: 'progress' | 'done', bytes: number }} */ m) => {
    if (m.type === 'progress') allowed = Math.max(allowed, m.bytes);
    else {
      allowed = m.bytes;
      total = m.bytes;
    }
    wake?.();
  });
  try {
    for (;;) {
      while (pos < allowed) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, allowed - pos), pos);
        if (bytesRead === 0)
          throw new Error(`catalog.xml is shorter on disk than written (${pos} of ${allowed} bytes)`);
        checker.write(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
      if (total >= 0 && pos >= total) break;
      await new Promise((r) => (wake = () => r(undefined)));
      wake = null;
    }
    const { size } = await fh.stat();
    const result = checker.end();
    if (size !== total && result.ok) {
      port.postMessage({
        ...result,
        ok: false,
        error: `catalog.xml has ${size} bytes on disk, ${total} were written`,
      });
    } else port.postMessage(result);
  } catch (e) {
    port.postMessage({ ok: false, error: /** @type {Error} */ (e).message });
  } finally {
    await fh.close();
  }
}

await checkXml();
