import type { EventType } from '../../src/rr/index.ts';

/**
 * One valid event per tracking type, naming ids of the small store below (products 1-8, group
 * 30 = products 3 and 4, category 2 = Kitchen/Knives, stock north of products 1 and 3).
 */
export function sampleEvent(type: EventType, visitor = 'v1'): Record<string, unknown> {
  const base = { sessionExternalId: visitor };
  switch (type) {
    case 'view':
      return { ...base, productId: 1, stockId: 'north' };
    case 'groupView':
      return { ...base, groupId: 30, productIds: [3, 4] };
    case 'addToBasket':
      return { ...base, productId: '2' };
    case 'categoryView':
      return { ...base, categoryId: 2 };
    case 'categoryViewByCategoryPath':
      return { ...base, categoryPath: 'Kitchen/Knives' };
    case 'order':
      return { ...base, productId: 1, price: 9.5, quantity: 2, transaction: `T-${visitor}` };
    case 'search':
      return { ...base, searchPhrase: 'knife', stockId: 'north' };
    case 'setContact':
      return { ...base, contactExternalId: 'c42', email: 'ann@example.com' };
    case 'welcomeSequence':
      return { ...base, email: 'ann@example.com' };
    case 'emailClick':
      return { ...base, mailTrackingId: 'm-1' };
    case 'recomBlockViewed':
      return { ...base, recomBlockId: 'home-1' };
    case 'recomTap':
      return { ...base, productId: 5, recomBlockId: 'home-1' };
    case 'recomAddToBasket':
      return { ...base, productId: 6, recomBlockId: 'home-1' };
    case 'impressionContentViewed':
      return { ...base, impressionContentId: 'banner-1' };
    case 'impressionContentClicked':
      return { ...base, impressionContentId: 'banner-1' };
  }
}

export const until = async (check: () => Promise<boolean>, timeoutMs = 30_000, stepMs = 50) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
};
