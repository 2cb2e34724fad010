/**
 * A sleep that can be cut short: a queue's loop waits `wait(ms)` for the next poll, and `kick()`
 * (new work spooled in this process) wakes it at once. Shared by the outbox pusher and the event
 * sender.
 */
export function createWakeable(): { wait(ms: number): Promise<void>; kick(): void } {
  let wakeUp: (() => void) | undefined;
  return {
    kick() {
      const w = wakeUp;
      wakeUp = undefined;
      w?.();
    },
    wait: (ms) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          if (wakeUp === done) wakeUp = undefined;
          resolve();
        }
        wakeUp = done;
      }),
  };
}
