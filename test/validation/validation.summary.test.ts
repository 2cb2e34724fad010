import { describe, expect, it } from 'vitest';
import { issueLines } from '../../src/validation/validation.summary.ts';

describe('issueLines (what validate and a dry run print)', () => {
  it('lists errors as left out and warnings as kept, each code with its count and first ids', () => {
    expect(
      issueLines(
        { 'product.id.missing': 1, 'product.id.not_integer': 2, 'product.name.too_long': 1 },
        {
          'product.id.missing': [null],
          'product.id.not_integer': [' 12', 'SKU-17'],
          'product.name.too_long': ['100'],
        },
      ),
    ).toEqual([
      'left out (first ids per reason code):',
      '  product.id.missing (1): NULL',
      '  product.id.not_integer (2): " 12", SKU-17',
      'kept, with a warning:',
      '  product.name.too_long (1): 100',
    ]);
  });

  it('ends a full list with an ellipsis only when there are more ids than shown', () => {
    const five = ['1', '2', '3', '4', '5'];
    expect(issueLines({ 'product.price.not_positive': 9 }, { 'product.price.not_positive': five })[1]).toBe(
      '  product.price.not_positive (9): 1, 2, 3, 4, 5, …',
    );
    expect(issueLines({ 'product.price.not_positive': 5 }, { 'product.price.not_positive': five })[1]).toBe(
      '  product.price.not_positive (5): 1, 2, 3, 4, 5',
    );
    // Three rows of one duplicated id: one id, no ellipsis.
    expect(issueLines({ 'product.id.duplicate': 3 }, { 'product.id.duplicate': ['7'] })[1]).toBe(
      '  product.id.duplicate (3): 7',
    );
  });

  it('prints nothing for a clean catalog', () => {
    expect(issueLines({}, {})).toEqual([]);
  });
});
