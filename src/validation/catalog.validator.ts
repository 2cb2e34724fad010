import type { RawCategory, RawWarehouse } from '../catalog/catalog.rows.ts';
import type { ReasonCode } from './validation.codes.ts';
import type { RunReport } from './validation.report.ts';
import { checkId, isValidWarehouseId, sanitizeText } from './validation.rules.ts';

export interface Category {
  id: string;
  parentId: string | null;
  name: string;
}

const byNumericId = (a: { id: string }, b: { id: string }) =>
  a.id.length !== b.id.length ? a.id.length - b.id.length : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/**
 * The category tree rules: valid unique ids, a name, parents that exist, no cycles. A category
 * whose parent is missing, or that sits in a cycle, is left out, and so is every category below
 * one that was left out (its parent would be missing from the feed). Returns the kept categories
 * in id order.
 */
export function validateCategories(raw: RawCategory[], report: RunReport): Category[] {
  const seen = new Map<string, number>();
  for (const c of raw) if (c.id !== null) seen.set(c.id, (seen.get(c.id) ?? 0) + 1);
  const candidates = new Map<string, Category>();
  for (const c of raw) {
    const problem = checkId(c.id);
    if (problem) {
      report.add({
        code: `category.id.${problem}` as ReasonCode,
        entity: 'category',
        id: c.id,
        field: 'id',
        value: c.id,
      });
      continue;
    }
    const id = c.id!;
    if (seen.get(id)! > 1) {
      report.add({ code: 'category.id.duplicate', entity: 'category', id, field: 'id' });
      continue;
    }
    let name = c.name?.trim() ?? '';
    const clean = sanitizeText(name);
    if (clean.changed) {
      name = clean.text.trim();
      report.add({ code: 'category.text.invalid_chars', entity: 'category', id, field: 'name' });
    }
    if (!name) {
      report.add({ code: 'category.name.missing', entity: 'category', id, field: 'name' });
      continue;
    }
    // An empty parent_id means a root, like NULL: views often turn NULL into ''.
    const parentId = c.parentId === null || c.parentId.trim() === '' ? null : c.parentId;
    candidates.set(id, { id, parentId, name });
  }

  // Resolve each category to ok / left out by walking up its parents once (memoised).
  const state = new Map<string, 'ok' | 'out'>();
  for (const start of candidates.keys()) {
    const path: string[] = [];
    const onPath = new Set<string>();
    let id: string | null = start;
    let verdict: 'ok' | 'out' = 'ok';
    for (;;) {
      if (id === null) break;
      const known = state.get(id);
      if (known) {
        verdict = known;
        if (known === 'out') {
          for (const p of path) leaveOut(p, 'category.parent.rejected');
          path.length = 0;
        }
        break;
      }
      if (onPath.has(id)) {
        const at = path.indexOf(id);
        for (const p of path.slice(at)) leaveOut(p, 'category.cycle');
        for (const p of path.slice(0, at)) leaveOut(p, 'category.parent.rejected');
        path.length = 0;
        verdict = 'out';
        break;
      }
      const c: Category = candidates.get(id)!;
      path.push(id);
      onPath.add(id);
      if (c.parentId === null) break;
      if (checkId(c.parentId) !== null || !candidates.has(c.parentId)) {
        leaveOut(id, 'category.parent.missing', c.parentId);
        path.pop();
        for (const p of path) leaveOut(p, 'category.parent.rejected');
        path.length = 0;
        verdict = 'out';
        break;
      }
      id = c.parentId;
    }
    for (const p of path) state.set(p, verdict);
  }

  function leaveOut(id: string, code: ReasonCode, value?: string | null) {
    if (state.get(id) === 'out') return;
    state.set(id, 'out');
    report.add({
      code,
      entity: 'category',
      id,
      field: 'parent_id',
      value: value ?? candidates.get(id)?.parentId,
    });
  }

  const kept = [...candidates.values()].filter((c) => state.get(c.id) === 'ok').sort(byNumericId);
  // The Product API splits categoryPaths on "/" (see src/sync/category.paths.ts for the stand-in).
  for (const c of kept) {
    if (c.name.includes('/')) {
      report.add({ code: 'category.name.slash', entity: 'category', id: c.id, field: 'name', value: c.name });
    }
  }
  return kept;
}

/** Warehouse ids usable as `<stock id>`: valid and known; duplicates are reported and kept once. */
export function validateWarehouses(raw: RawWarehouse[], report: RunReport): Set<string> {
  const ids = new Set<string>();
  for (const w of raw) {
    if (!isValidWarehouseId(w.id)) {
      report.add({ code: 'warehouse.id.invalid', entity: 'warehouse', id: w.id, field: 'id', value: w.id });
      continue;
    }
    if (ids.has(w.id!))
      report.add({ code: 'warehouse.id.duplicate', entity: 'warehouse', id: w.id, field: 'id' });
    ids.add(w.id!);
  }
  return ids;
}
