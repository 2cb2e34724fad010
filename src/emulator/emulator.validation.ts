/**
 * Field rules of the tracking API (§4.1) and their checks. Strict mode is the documented contract;
 * lenient mode accepts what Retail Rocket's own SDK and third-party modules are seen to send
 * (digit strings for ids, numeric stock ids, longer visitor ids) and records a note instead.
 */

export interface FieldIssue {
  field: string;
  rule: string;
  message: string;
}

export const MAX_ID = Number.MAX_SAFE_INTEGER; // 9007199254740991, the documented cap
export const ID_TEXT = /^(0|[1-9]\d{0,15})$/;
const SESSION = /^[A-Za-z0-9-]{1,50}$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const E164 = /^\+[1-9]\d{6,14}$/;

export type FieldKind =
  | 'id'
  | 'ids'
  | 'session'
  | 'short' // string 1..50 (stockId, transaction, recomBlockId, searchPhrase)
  | 'text'
  | 'timestamp'
  | 'price'
  | 'quantity'
  | 'email'
  | 'phone'
  | 'object'
  | 'categoryPath'
  | 'idOrText'
  | 'link';

type Check = { rule: string; message: string } | null;

/** Digit-string id (no sign, no leading zeros) within the documented cap. */
export function isIdText(s: string): boolean {
  return ID_TEXT.test(s) && Number(s) <= MAX_ID;
}

export function isSafeId(v: unknown, strict: boolean): boolean {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0;
  return !strict && typeof v === 'string' && isIdText(v);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function shortText(v: unknown, strict: boolean, what: string): Check {
  const s = !strict && typeof v === 'number' && Number.isFinite(v) ? String(v) : v;
  if (typeof s !== 'string' || s.length === 0)
    return { rule: 'string', message: `${what} must be a non-empty string` };
  if (strict && s.length > 50)
    return { rule: 'max_length_50', message: `${what} must be at most 50 characters` };
  return null;
}

export function checkValue(kind: FieldKind, v: unknown, strict: boolean): Check {
  switch (kind) {
    case 'id':
      return isSafeId(v, strict)
        ? null
        : {
            rule: 'integer_id',
            message: `must be an integer from 0 to ${MAX_ID}${strict ? ' (a JSON number)' : ''}`,
          };
    case 'ids':
      if (!Array.isArray(v) || v.length === 0)
        return { rule: 'id_array', message: 'must be a non-empty array of ids' };
      return v.every((x) => isSafeId(x, strict))
        ? null
        : { rule: 'integer_id', message: `every element must be an integer from 0 to ${MAX_ID}` };
    case 'session':
      if (typeof v !== 'string' || v.length === 0)
        return { rule: 'string', message: 'must be a non-empty string' };
      if (strict && !SESSION.test(v))
        return { rule: 'session_external_id', message: 'must be 1-50 letters, digits or hyphens' };
      return v.length > 200 ? { rule: 'max_length_200', message: 'must be at most 200 characters' } : null;
    case 'short':
      return shortText(v, strict, 'value');
    case 'text':
      return typeof v === 'string' && v.length > 0 && v.length <= 1000
        ? null
        : { rule: 'string', message: 'must be a non-empty string of at most 1000 characters' };
    case 'timestamp': {
      if (typeof v !== 'string') return { rule: 'iso8601', message: 'must be an ISO 8601 date-time string' };
      if ((strict && !ISO_8601.test(v)) || Number.isNaN(Date.parse(v)))
        return {
          rule: 'iso8601',
          message: 'must be an ISO 8601 date-time with a zone, e.g. 2024-03-01T09:31:00Z',
        };
      return null;
    }
    case 'price': {
      const n = !strict && typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      return typeof n === 'number' && Number.isFinite(n) && n >= 0
        ? null
        : { rule: 'number_gte_0', message: 'must be a number >= 0' };
    }
    case 'quantity': {
      const n = !strict && typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      return typeof n === 'number' && Number.isFinite(n) && n > 0
        ? null
        : { rule: 'number_gt_0', message: 'must be a number > 0' };
    }
    case 'email':
      return typeof v === 'string' && v.length <= 254 && EMAIL.test(v)
        ? null
        : { rule: 'email', message: 'must be an e-mail address' };
    case 'phone':
      if (typeof v !== 'string' || v.length === 0)
        return { rule: 'string', message: 'must be a non-empty string' };
      return !strict || E164.test(v)
        ? null
        : { rule: 'e164', message: 'must be an E.164 phone number, e.g. +4930123456' };
    case 'object':
      return isPlainObject(v) ? null : { rule: 'object', message: 'must be a JSON object' };
    case 'categoryPath':
      if (typeof v !== 'string' || v.length === 0)
        return { rule: 'string', message: 'must be a non-empty string' };
      return strict && v.split('/').some((part) => part.trim() === '')
        ? {
            rule: 'category_path',
            message: 'must be a full path like Women/Clothes/Skirts (no empty segment)',
          }
        : null;
    case 'idOrText':
      return (typeof v === 'string' && v.length > 0 && v.length <= 200) || isSafeId(v, true)
        ? null
        : { rule: 'id_or_string', message: 'must be a non-empty string or an integer' };
    case 'link':
      return isPlainObject(v) &&
        typeof v.name === 'string' &&
        v.name !== '' &&
        typeof v.value === 'string' &&
        v.value !== ''
        ? null
        : { rule: 'link', message: 'must be {"name": "...", "value": "..."}' };
  }
}

/** Which rule every tracking field follows (the same name means the same thing in every event). */
export const FIELD_KINDS: Record<string, FieldKind> = {
  sessionExternalId: 'session',
  link: 'link',
  timestamp: 'timestamp',
  productId: 'id',
  productIds: 'ids',
  groupId: 'id',
  categoryId: 'id',
  categoryPath: 'categoryPath',
  stockId: 'short',
  price: 'price',
  quantity: 'quantity',
  transaction: 'short',
  searchPhrase: 'short',
  contactExternalId: 'session',
  email: 'email',
  phone: 'phone',
  customData: 'object',
  mailTrackingId: 'idOrText',
  recomBlockId: 'short',
  impressionContentId: 'idOrText',
};

interface EventSpec {
  required: string[];
  optional: string[];
}

const withStock = (required: string[]): EventSpec => ({ required, optional: ['stockId'] });

/** §4.2-4.5: the event resources and their body fields (identity and timestamp are common). */
export const EVENT_SPECS: Record<string, EventSpec> = {
  view: withStock(['productId']),
  groupView: withStock(['groupId', 'productIds']),
  addToBasket: withStock(['productId']),
  categoryView: { required: ['categoryId'], optional: [] },
  categoryViewByCategoryPath: { required: ['categoryPath'], optional: [] },
  order: withStock(['productId', 'price', 'quantity', 'transaction']),
  search: withStock(['searchPhrase']),
  setContact: { required: ['contactExternalId'], optional: ['email', 'phone', 'stockId', 'customData'] },
  welcomeSequence: { required: ['email'], optional: [] },
  emailClick: { required: ['mailTrackingId'], optional: ['customData'] },
  recomBlockViewed: { required: ['recomBlockId'], optional: [] },
  recomTap: withStock(['productId', 'recomBlockId']),
  recomAddToBasket: withStock(['productId', 'recomBlockId']),
  impressionContentViewed: { required: ['impressionContentId'], optional: [] },
  impressionContentClicked: { required: ['impressionContentId'], optional: [] },
};

/** Keys documented for `visitorEvents` envelopes (§4.6); categoryViewByCategoryPath is not listed. */
export const BATCH_EVENT_TYPES = new Set(
  Object.keys(EVENT_SPECS).filter((t) => t !== 'categoryViewByCategoryPath'),
);

export interface EventCheck {
  issues: FieldIssue[];
  /** Lenient mode: what strict mode would have refused (kept with the event). */
  notes: FieldIssue[];
}

/** Validates one event body; `prefix` names the field inside a batch (`[3].view.productId`). */
export function validateEvent(type: string, body: unknown, strict: boolean, prefix = ''): EventCheck {
  const issues: FieldIssue[] = [];
  const notes: FieldIssue[] = [];
  const spec = EVENT_SPECS[type];
  if (!spec)
    return {
      issues: [{ field: prefix || 'event', rule: 'event_type', message: `unknown event '${type}'` }],
      notes,
    };
  if (!isPlainObject(body)) {
    return {
      issues: [{ field: prefix || 'body', rule: 'object', message: 'the event body must be a JSON object' }],
      notes,
    };
  }
  const name = (f: string) => (prefix ? `${prefix}.${f}` : f);
  if (body.sessionExternalId === undefined && body.link === undefined) {
    issues.push({
      field: name('sessionExternalId'),
      rule: 'required',
      message: 'sessionExternalId is required',
    });
  }
  for (const f of spec.required) {
    if (body[f] === undefined || body[f] === null) {
      issues.push({ field: name(f), rule: 'required', message: `${f} is required` });
    }
  }
  const allowed = new Set(['sessionExternalId', 'link', 'timestamp', ...spec.required, ...spec.optional]);
  for (const [f, v] of Object.entries(body)) {
    if (!allowed.has(f)) {
      const issue = { field: name(f), rule: 'unknown_field', message: `${f} is not a field of ${type}` };
      (strict ? issues : notes).push(issue);
      continue;
    }
    if (v === undefined || (v === null && !spec.required.includes(f))) continue;
    if (v === null) continue; // already reported as required
    const kind = FIELD_KINDS[f] as FieldKind;
    const problem = checkValue(kind, v, strict);
    if (problem) {
      issues.push({ field: name(f), ...problem, message: `${f} ${problem.message}` });
    } else if (!strict) {
      const strictProblem = checkValue(kind, v, true);
      if (strictProblem)
        notes.push({ field: name(f), ...strictProblem, message: `${f} ${strictProblem.message}` });
    }
  }
  return { issues, notes };
}

/** Parses a comma-separated id list from a query string (`productIds=1,2`). */
export function parseIdList(
  raw: string | null,
  field: string,
  required: boolean,
): { ids: string[]; issue?: FieldIssue } {
  if (raw === null || raw.trim() === '') {
    return required
      ? { ids: [], issue: { field, rule: 'required', message: `${field} is required (comma-separated ids)` } }
      : { ids: [] };
  }
  const ids = raw.split(',').map((s) => s.trim());
  const bad = ids.find((s) => !isIdText(s));
  if (bad !== undefined) {
    return {
      ids,
      issue: {
        field,
        rule: 'integer_id',
        message: `${field} must be comma-separated integers up to ${MAX_ID}`,
      },
    };
  }
  return { ids };
}

export function firstIssueBody(issues: FieldIssue[]): Record<string, unknown> {
  const first = issues[0] as FieldIssue;
  return { error: 'validation', field: first.field, rule: first.rule, message: first.message, issues };
}
