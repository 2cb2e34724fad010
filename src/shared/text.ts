/** "1 offer", "2 offers", "1 category", "3 categories": numbers in messages read as a person writes them. */
export function count(
  n: number,
  singular: string,
  plural = `${singular}s`,
  show: (n: number) => string = String,
): string {
  return `${show(n)} ${n === 1 ? singular : plural}`;
}

/** Thousands separated, for large counts: "1,000,000". */
export const grouped = (n: number) => n.toLocaleString('en-US');

/**
 * A duration as a person reads it: tenths below 10 s ("2.4 s"), whole seconds below a minute
 * ("42 s"), then minutes and seconds ("3 min 07 s") and hours and minutes ("1 h 05 min").
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '? s';
  if (seconds < 9.95) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}
