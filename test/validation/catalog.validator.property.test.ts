import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RawCategory } from '../../src/catalog/catalog.reader.ts';
import { validateCategories, validateWarehouses } from '../../src/validation/catalog.validator.ts';
import { RunReport } from '../../src/validation/validation.report.ts';

// The category tree rules (design §4) on random small forests, checked against a plain reference:
// a category is kept exactly when it and every ancestor are valid, unique, named, and the parent
// chain ends at a root without a cycle. Each category left out gets exactly one reason code.

type TreeCode = 'category.parent.missing' | 'category.parent.rejected' | 'category.cycle';

function reference(raw: RawCategory[]): { kept: string[]; codes: Map<string, TreeCode> } {
  const count = new Map<string, number>();
  for (const c of raw) if (c.id !== null) count.set(c.id, (count.get(c.id) ?? 0) + 1);
  const nodes = new Map<string, string | null>();
  for (const c of raw) {
    if (c.id === null || !/^[1-9][0-9]*$/.test(c.id) || count.get(c.id)! > 1) continue;
    if (!c.name?.trim()) continue;
    nodes.set(c.id, c.parentId === null || c.parentId.trim() === '' ? null : c.parentId);
  }
  const onCycle = (id: string) => {
    let cur: string | null | undefined = nodes.get(id);
    for (let i = 0; i <= nodes.size && cur != null && nodes.has(cur); i++) {
      if (cur === id) return true;
      cur = nodes.get(cur);
    }
    return false;
  };
  const codes = new Map<string, TreeCode>();
  const kept: string[] = [];
  for (const id of nodes.keys()) {
    if (onCycle(id)) {
      codes.set(id, 'category.cycle');
      continue;
    }
    const parent = nodes.get(id)!;
    if (parent !== null && !nodes.has(parent)) {
      codes.set(id, 'category.parent.missing');
      continue;
    }
    // Walk up: any ancestor with a missing parent or on a cycle rejects this one.
    let cur = parent;
    let ok = true;
    for (let i = 0; i <= nodes.size && cur !== null; i++) {
      const p = nodes.get(cur)!;
      if (onCycle(cur) || (p !== null && !nodes.has(p))) {
        ok = false;
        break;
      }
      cur = p;
    }
    if (ok) kept.push(id);
    else codes.set(id, 'category.parent.rejected');
  }
  return { kept: kept.sort((a, b) => Number(a) - Number(b)), codes };
}

const smallId = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 9 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0', '07', 'x', '') },
);
const rawCategory: fc.Arbitrary<RawCategory> = fc.record({
  id: fc.option(smallId, { freq: 12 }),
  parentId: fc.option(smallId, { freq: 2 }),
  name: fc.constantFrom('Name', 'Name', 'Name', ' ', null, 'Bad\u0001'),
});

describe('validateCategories', () => {
  it('keeps exactly the categories whose whole parent chain is valid, with one reason per left-out one', () => {
    fc.assert(
      fc.property(fc.array(rawCategory, { maxLength: 12 }), fc.boolean(), (raw, reversed) => {
        const input = reversed ? [...raw].reverse() : raw;
        const report = new RunReport(null);
        const kept = validateCategories(input, report);
        const ref = reference(raw);
        expect(kept.map((c) => c.id)).toEqual(ref.kept);

        const tree = report.summary();
        const got = new Map<string, string>();
        for (const code of ['category.parent.missing', 'category.parent.rejected', 'category.cycle']) {
          for (const issue of tree[code]?.first ?? []) {
            expect(got.has(issue.id!), `${issue.id} reported twice`).toBe(false);
            got.set(issue.id!, code);
          }
        }
        expect(Object.fromEntries(got)).toEqual(Object.fromEntries(ref.codes));
        for (const c of kept) expect(c.name).toBe(c.name.replace(/\u0001/g, '').trim());
      }),
      { numRuns: 3000 },
    );
  });

  it('treats an empty parent_id as a root, like NULL', () => {
    const report = new RunReport(null);
    const kept = validateCategories(
      [
        { id: '1', parentId: '', name: 'Root' },
        { id: '2', parentId: ' ', name: 'Root too' },
        { id: '3', parentId: '1', name: 'Child' },
      ],
      report,
    );
    expect(kept.map((c) => [c.id, c.parentId])).toEqual([
      ['1', null],
      ['2', null],
      ['3', '1'],
    ]);
    expect(report.totals().byCode).toEqual({});
  });

  it('handles a long chain and a long cycle', () => {
    const chain: RawCategory[] = Array.from({ length: 300 }, (_, i) => ({
      id: String(i + 1),
      parentId: i === 0 ? null : String(i),
      name: `c${i + 1}`,
    }));
    const cycle: RawCategory[] = Array.from({ length: 300 }, (_, i) => ({
      id: String(1001 + i),
      parentId: String(1001 + ((i + 1) % 300)),
      name: `k${i}`,
    }));
    const report = new RunReport(null);
    expect(validateCategories([...cycle, ...chain].reverse(), report)).toHaveLength(300);
    expect(report.totals().byCode).toEqual({ 'category.cycle': 300 });
  });
});

describe('validateWarehouses', () => {
  it('keeps each valid id once and reports each repeat', () => {
    const report = new RunReport(null);
    const ids = validateWarehouses(
      [
        { id: 'a', name: null },
        { id: 'a', name: null },
        { id: 'a', name: null },
        { id: 'b ', name: null },
        { id: 'b', name: null },
      ],
      report,
    );
    expect([...ids].sort()).toEqual(['a', 'b']);
    expect(report.totals().byCode).toEqual({ 'warehouse.id.duplicate': 2, 'warehouse.id.invalid': 1 });
  });
});
