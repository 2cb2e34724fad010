import type { z } from 'zod';
import { EVENT_SCHEMAS, EVENT_TYPES, type EventType } from '../rr/index.ts';
import { EVENT_LIMITS, type EventError, type EventIssue, type SpoolInput } from './events.contracts.ts';

/**
 * Pure validation of storefront events with the client's own schemas (so what we spool is exactly
 * what the client will send): unknown fields refused, ids that can never be valid refused. Whether
 * an id is known to the catalog is not checked here: that is the sender's (unknown ids park).
 */

export type Checked<T> = { ok: true; value: T } | { ok: false; error: EventError };

export const isEventType = (type: string): type is EventType => Object.hasOwn(EVENT_SCHEMAS, type);

export function unknownType(type: string): EventError {
  return {
    code: 'events.unknown_type',
    message: `Unknown event type ${JSON.stringify(type)}; valid types: ${EVENT_TYPES.join(', ')}.`,
  };
}

function issuesOf(error: z.ZodError, index?: number): EventIssue[] {
  const at = index === undefined ? {} : { index };
  return error.issues.flatMap((i): EventIssue[] => {
    const path = i.path.map(String).join('.');
    // Unknown fields sit on the object itself: name each of them as the field.
    if (i.code === 'unrecognized_keys') {
      return i.keys.map((k) => ({
        ...at,
        field: path ? `${path}.${k}` : k,
        rule: i.code,
        message: 'is not a field of this event type',
      }));
    }
    return [{ ...at, field: path || '(input)', rule: i.code, message: i.message }];
  });
}

const sentence = (issues: readonly EventIssue[]) =>
  issues
    .slice(0, 5)
    .map((i) => `${i.index === undefined ? '' : `[${i.index}] `}${i.field}: ${i.message}`)
    .join('; ') + (issues.length > 5 ? `; and ${issues.length - 5} more` : '');

export function invalid(issues: EventIssue[]): EventError {
  return { code: 'events.invalid', message: `Invalid event: ${sentence(issues)}.`, issues };
}

function parse(type: EventType, input: unknown, index?: number): Checked<SpoolInput> | EventIssue[] {
  const r = EVENT_SCHEMAS[type].safeParse(input);
  if (!r.success) return issuesOf(r.error, index);
  const body = r.data as Record<string, unknown> & { sessionExternalId: string };
  return { ok: true, value: { visitor: body.sessionExternalId, type, body } };
}

/** One event of a known or unknown type. */
export function checkEvent(type: string, input: unknown): Checked<SpoolInput> {
  if (!isEventType(type)) return { ok: false, error: unknownType(type) };
  const r = parse(type, input);
  return Array.isArray(r) ? { ok: false, error: invalid(r) } : r;
}

/** A batch `[{type, ...fields}]`: every item valid, or the issues of all invalid items. */
export function checkBatch(items: unknown): Checked<SpoolInput[]> {
  if (!Array.isArray(items)) {
    return {
      ok: false,
      error: invalid([{ field: '(input)', rule: 'invalid_type', message: 'must be a JSON array of events' }]),
    };
  }
  if (items.length === 0) {
    return {
      ok: false,
      error: invalid([{ field: '(input)', rule: 'too_small', message: 'must list at least one event' }]),
    };
  }
  if (items.length > EVENT_LIMITS.batchItems) {
    return {
      ok: false,
      error: {
        code: 'events.batch_too_large',
        message: `A batch takes at most ${EVENT_LIMITS.batchItems} events (got ${items.length}); split it.`,
      },
    };
  }
  const out: SpoolInput[] = [];
  const issues: EventIssue[] = [];
  items.forEach((item: unknown, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      issues.push({
        index,
        field: '(input)',
        rule: 'invalid_type',
        message: 'must be an object {"type", ...}',
      });
      return;
    }
    const { type, ...fields } = item as Record<string, unknown>;
    if (typeof type !== 'string' || !isEventType(type)) {
      issues.push({
        index,
        field: 'type',
        rule: 'event_type',
        message: `must be one of ${EVENT_TYPES.join(', ')}`,
      });
      return;
    }
    const r = parse(type, fields, index);
    if (Array.isArray(r)) issues.push(...r);
    else if (r.ok) out.push(r.value);
  });
  return issues.length > 0 ? { ok: false, error: invalid(issues) } : { ok: true, value: out };
}
