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
  const u = URL.canParse(raw) ? new URL(raw) : null;
  const ats = raw.split('@').length - 1;
  // Any '@' the parser did not take as the end of the user-info means a password with a raw '/',
  // '?', '#' or '@' split the URL somewhere else: the parse cannot be trusted to show it safely.
  if (u && ats === (u.username || u.password ? 1 : 0)) {
    if (u.username || u.password) {
      u.username = MASK;
      u.password = '';
    }
    for (const key of [...u.searchParams.keys()]) {
      if (SECRET_PARAM.test(key)) u.searchParams.set(key, MASK);
    }
    return u.toString();
  }
  // Whatever sits before the last '@' may be a password, so none of it is shown.
  const at = raw.lastIndexOf('@');
  if (at === -1)
    return raw.replace(/([?&;][^=&#]*(?:token|key|secret|pass|auth)[^=&#]*=)[^&#]*/gi, `$1${MASK}`);
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(raw)?.[0] ?? '';
  return `${scheme}${MASK}@${raw.slice(at + 1)}`;
}

/**
 * Every `scheme://…` URL inside free text (an error message), each passed through redactUrl.
 * A raw password may contain spaces or '/', so the user-info is taken to run up to the last '@'
 * on the line (masking too much is fine, too little is not); the rest ends at white space or a quote.
 */
export function redactUrlsIn(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/(?:[^\r\n]*@)?[^\s"'<>]*/gi, (url) => redactUrl(url));
}
