/**
 * Credentials inside URLs (user:password@, ?token=, ?apiKey=) must never reach a log line, an
 * error message or a report. One helper for every place that shows a URL: database URLs in
 * connection errors, feed URLs in the emulator's reports, URL variables in config errors.
 */

const MASK = '***';
/** Query parameters whose values are credentials, whatever the service calls them. */
const SECRET_PARAM = /token|key|secret|pass|signature|auth|credential/i;

/** A single URL with its user-info and secret-looking query values masked. */
export function redactUrl(raw: string): string {
  if (URL.canParse(raw)) {
    const u = new URL(raw);
    if (u.username || u.password) {
      u.username = MASK;
      u.password = '';
    }
    for (const key of [...u.searchParams.keys()]) {
      if (SECRET_PARAM.test(key)) u.searchParams.set(key, MASK);
    }
    return u.toString();
  }
  // Not a URL the parser accepts (a typo, a password with a raw '/' or space): whatever sits before
  // the last '@' may be a password, so none of it is shown.
  const at = raw.lastIndexOf('@');
  if (at === -1) return raw.replace(/([?&;][^=&#]*(?:token|key|secret|pass|auth)[^=&#]*=)[^&#]*/gi, `$1${MASK}`);
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(raw)?.[0] ?? '';
  return `${scheme}${MASK}@${raw.slice(at + 1)}`;
}

/** Every `scheme://…` URL inside free text (an error message), each passed through redactUrl. */
export function redactUrlsIn(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (url) => redactUrl(url));
}
