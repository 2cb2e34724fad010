/**
 * Wait for `work` to settle (fulfilled or rejected alike), but no longer than `timeoutMs`: what a
 * graceful stop does with the calls still in flight before it releases what it holds.
 */
export async function settleWithin(work: Promise<unknown>, timeoutMs: number): Promise<'done' | 'late'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeoutMs);
  });
  try {
    return await Promise.race([
      work.then(
        () => 'done' as const,
        () => 'done' as const,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
