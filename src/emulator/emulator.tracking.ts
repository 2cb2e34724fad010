import { groupMembers, knownCategoryPaths } from './emulator.catalog.ts';
import { authenticate, methodNotAllowed, type AppContext } from './emulator.context.ts';
import { HttpError, notFound, parseJsonBody, sendJson, type Exchange } from './emulator.http.ts';
import {
  eventProductIds,
  type ConsistencyWarning,
  type PartnerState,
  type StoredEvent,
} from './emulator.state.ts';
import {
  BATCH_EVENT_TYPES,
  EVENT_SPECS,
  firstIssueBody,
  validateEvent,
  type FieldIssue,
} from './emulator.validation.ts';

const EVENT_NAMES = new Map(Object.keys(EVENT_SPECS).map((n) => [n.toLowerCase(), n]));

/** `/1.0/<event>` and `/1.0/visitorEvents` (§4). Returns false when the path is not tracking's. */
export async function handleTracking(ctx: AppContext, ex: Exchange): Promise<boolean> {
  const m = /^\/1\.0\/([A-Za-z]+)\/?$/.exec(ex.path);
  if (!m) return false;
  const name = (m[1] as string).toLowerCase();
  const type = EVENT_NAMES.get(name);
  if (!type && name !== 'visitorevents') throw notFound(ex.path);
  if (ex.method !== 'POST') throw methodNotAllowed('POST');
  const partner = authenticate(ctx, ex);
  ctx.limiter.admit(partner.partnerId, 'tracking');
  const body = parseJsonBody(ex, ctx.strict);
  if (type) acceptSingle(ctx, partner, type, body);
  else acceptBatch(ctx, partner, body);
  sendJson(ex.res, 200, {});
  return true;
}

function acceptSingle(ctx: AppContext, partner: PartnerState, type: string, body: unknown): void {
  const { issues, notes } = validateEvent(type, body, ctx.strict);
  if (issues.length > 0) throw new HttpError(400, firstIssueBody(issues));
  record(ctx, partner, [{ type, body: body as Record<string, unknown>, notes }], null);
}

/**
 * All-or-nothing (§4.6, INFERRED): every envelope is validated first; one bad envelope refuses
 * the whole batch with the failing indexes (an emulator-only extension of the 400 body).
 */
function acceptBatch(ctx: AppContext, partner: PartnerState, body: unknown): void {
  if (!Array.isArray(body)) {
    throw new HttpError(
      400,
      firstIssueBody([
        { field: 'body', rule: 'array', message: 'visitorEvents takes a JSON array of envelopes' },
      ]),
    );
  }
  if (body.length === 0 && ctx.strict) {
    throw new HttpError(
      400,
      firstIssueBody([{ field: 'body', rule: 'non_empty', message: 'the batch is empty' }]),
    );
  }
  const accepted: { type: string; body: Record<string, unknown>; notes: FieldIssue[] }[] = [];
  const failures: (FieldIssue & { index: number })[] = [];
  body.forEach((envelope: unknown, index) => {
    const keys =
      typeof envelope === 'object' && envelope !== null && !Array.isArray(envelope)
        ? Object.keys(envelope)
        : [];
    if (keys.length !== 1) {
      failures.push({
        index,
        field: `[${index}]`,
        rule: 'envelope',
        message: 'each element must be an object with exactly one event-type key',
      });
      return;
    }
    const given = keys[0] as string;
    const type = EVENT_NAMES.get(given.toLowerCase());
    const batchable = type !== undefined && (BATCH_EVENT_TYPES.has(type) || !ctx.strict);
    if (!type || !batchable || (ctx.strict && type !== given)) {
      failures.push({
        index,
        field: `[${index}].${given}`,
        rule: 'event_type',
        message: `'${given}' is not a batchable event type`,
      });
      return;
    }
    const value = (envelope as Record<string, unknown>)[given];
    const { issues, notes } = validateEvent(type, value, ctx.strict, `[${index}].${given}`);
    if (issues.length > 0) failures.push(...issues.map((i) => ({ index, ...i })));
    else accepted.push({ type, body: value as Record<string, unknown>, notes });
  });
  if (failures.length > 0) {
    const first = failures[0] as FieldIssue & { index: number };
    throw new HttpError(400, {
      error: 'validation',
      field: first.field,
      rule: first.rule,
      message: `${failures.length} invalid event(s); nothing was stored: ${first.field} ${first.message}`,
      failingIndexes: [...new Set(failures.map((f) => f.index))],
      issues: failures,
    });
  }
  record(ctx, partner, accepted, ctx.state.nextBatchId());
}

function record(
  ctx: AppContext,
  partner: PartnerState,
  events: { type: string; body: Record<string, unknown>; notes: FieldIssue[] }[],
  batchId: number | null,
): void {
  const receivedAt = new Date().toISOString();
  const checker = new ConsistencyChecker(partner);
  events.forEach(({ type, body, notes }, index) => {
    const link = body.link as { name: string; value: string } | undefined;
    const sessionExternalId = typeof body.sessionExternalId === 'string' ? body.sessionExternalId : null;
    const ev: StoredEvent = {
      seq: ctx.state.nextSeq(),
      partnerId: partner.partnerId,
      type,
      visitor: sessionExternalId ?? `link:${link?.name}:${link?.value}`,
      sessionExternalId,
      receivedAt,
      timestamp: typeof body.timestamp === 'string' ? body.timestamp : receivedAt,
      batch: batchId === null ? null : { id: batchId, index },
      body,
      notes,
      warnings: [],
    };
    const warnings = checker.check(ev).map((w) => ({ seq: ctx.state.nextSeq(), ...w }));
    ev.warnings = warnings.map((w) => w.code);
    partner.warnings.push(...warnings);
    const excess = partner.warnings.length - ctx.behaviour.maxEventsPerPartner;
    if (excess > 0) partner.warnings.splice(0, excess);
    partner.append([ev]);
    for (const w of warnings) ctx.logger.debug({ warning: w }, 'consistency warning');
  });
}

/**
 * §6: ids that the product base does not know are accepted (200) but recorded as warnings. Ids
 * removed by a later feed stay resolvable (§3.1.3) and raise no warning.
 */
class ConsistencyChecker {
  private groups: Map<string, Set<string>> | undefined;
  private paths: Set<string> | undefined;

  constructor(private readonly partner: PartnerState) {}

  check(ev: StoredEvent): Omit<ConsistencyWarning, 'seq'>[] {
    const out: Omit<ConsistencyWarning, 'seq'>[] = [];
    const cat = this.partner.catalog;
    const add = (field: string, value: unknown, code: string, message: string) =>
      out.push({
        eventSeq: ev.seq,
        partnerId: ev.partnerId,
        sessionExternalId: ev.sessionExternalId,
        eventType: ev.type,
        field,
        value: String(value),
        code,
        message,
      });
    const b = ev.body;
    const field = ev.type === 'groupView' ? 'productIds' : 'productId';
    for (const id of eventProductIds(ev)) {
      if (!cat.items.has(id) && !cat.removed.has(id))
        add(field, id, 'product.unknown', `product ${id} is not in the catalog`);
    }
    if (ev.type === 'groupView' && b.groupId !== undefined) {
      this.groups ??= groupMembers(cat);
      const members = this.groups.get(String(b.groupId));
      if (!members)
        add('groupId', b.groupId, 'group.unknown', `group ${String(b.groupId)} is not in the catalog`);
      else
        for (const id of eventProductIds(ev)) {
          if (!members.has(id))
            add(
              'productIds',
              id,
              'group.member_mismatch',
              `product ${id} is not a member of group ${String(b.groupId)}`,
            );
        }
    }
    if (b.categoryId !== undefined && !cat.categories.has(String(b.categoryId))) {
      add(
        'categoryId',
        b.categoryId,
        'category.unknown',
        `category ${String(b.categoryId)} is not in the catalog`,
      );
    }
    if (typeof b.categoryPath === 'string') {
      this.paths ??= knownCategoryPaths(cat);
      if (!this.paths.has(b.categoryPath))
        add(
          'categoryPath',
          b.categoryPath,
          'category_path.unknown',
          `category path '${b.categoryPath}' is not in the catalog`,
        );
    }
    if (b.stockId !== undefined && !cat.stocks.has(String(b.stockId))) {
      add(
        'stockId',
        b.stockId,
        'stock.unknown',
        `stock '${String(b.stockId)}' is not among the catalog's stocks`,
      );
    }
    if (ev.type === 'order') {
      const key = `${String(b.transaction)}\u0000${String(b.productId)}`;
      if (this.partner.orderLines.has(key)) {
        add(
          'transaction',
          b.transaction,
          'order.duplicate_line',
          `transaction ${String(b.transaction)} already has a line for product ${String(b.productId)}`,
        );
      }
    }
    return out;
  }
}
