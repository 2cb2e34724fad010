/**
 * Progress for long runs, on a terminal only (stderr, one rewritten line): rows read, rate, ETA.
 */
export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr) {
  if (!stream.isTTY) return { update: () => undefined, done: () => undefined };
  const started = performance.now();
  let last = 0;
  return {
    update({ products, estimated }: { products: number; estimated: number }) {
      const t = performance.now();
      if (t - last < 500) return;
      last = t;
      const secs = (t - started) / 1000;
      const rate = products / Math.max(secs, 0.001);
      const eta =
        estimated > products && rate > 0 ? ` ETA ${Math.ceil((estimated - products) / rate)} s` : '';
      stream.write(
        `\r${label}: ${products.toLocaleString('en')} products read, ${Math.round(rate).toLocaleString('en')}/s${eta}   `,
      );
    },
    done() {
      stream.write('\r\x1b[K');
    },
  };
}
