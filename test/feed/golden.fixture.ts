import type { StoreFixture } from './store.fixture.ts';
import { product } from './store.fixture.ts';

/**
 * The small catalog behind test/fixtures/feeds/small.xml: a category tree, a variant group, an old
 * price, several categories per offer, every optional text field with characters that need
 * escaping (& < > " '), Cyrillic and emoji, params in both array (with unit) and object form, and
 * two warehouses (one with a Cyrillic id) overriding price, availability, URL, picture and texts.
 */
export const GOLDEN_STORE: StoreFixture = {
  categories: [
    { id: '10', parent_id: null, name: 'Kitchen & Dining' },
    { id: '11', parent_id: '10', name: 'Knives <sharp> "pro"' },
    { id: '12', parent_id: '10', name: 'Посуда 🍳' },
    { id: '20', parent_id: null, name: "Garden's" },
  ],
  warehouses: [
    { id: 'north', name: 'North' },
    { id: 'Москва', name: 'Moscow' },
  ],
  products: [
    product('700123', {
      group_id: '7001',
      name: 'Chef knife 20 cm 🔪',
      price: '49.90',
      old_price: '59.90',
      category_ids: '{11,12}',
      vendor: 'Smith & Sons <Ltd>',
      model: 'CK-20 "Pro"',
      type_prefix: 'Нож',
      description: "Forged blade — it's sharp & <safe> 👍",
      params: JSON.stringify([
        { name: 'Material', value: 'Steel' },
        { name: 'Length', value: '20', unit: 'cm' },
        { name: 'Note "quoted"', value: 'a < b & c > d' },
      ]),
    }),
    product('700124', {
      group_id: '7001',
      name: 'Chef knife 24 cm',
      price: '52',
      available: 'false',
      category_ids: '{11}',
      params: JSON.stringify({ Color: 'Red & black', Размер: 'L' }),
    }),
    product('800', { price: '5.00', category_ids: '{20}' }),
  ],
  stocks: [
    {
      product_id: '700123',
      warehouse_id: 'north',
      available: 'false',
      price: '52.00',
      old_price: '60.00',
      url: 'https://north.shop.example/p/700123?a=1&b=2',
      picture_url: 'https://shop.example/img/700123-n.jpg',
    },
    {
      product_id: '700123',
      warehouse_id: 'Москва',
      available: 'true',
      name: 'Нож шеф-повара "20"',
      description: "Tom & Jerry's <choice>",
    },
    { product_id: '700124', warehouse_id: 'north', available: 'true' },
  ],
};
