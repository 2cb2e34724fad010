/**
 * Static vocabulary of the demo store: a department -> subcategory -> product-type tree, and the
 * words products are made of. Some names carry characters the feed must escape (&, ', ") and some
 * are not ASCII, on purpose.
 */
export interface Department {
  name: string;
  /** Sizes or variants shown in product names, e.g. "Chef knife 20 cm, red". */
  specs: readonly string[];
  subcategories: Readonly<Record<string, readonly string[]>>;
}

export const DEPARTMENTS: readonly Department[] = [
  {
    name: 'Kitchen',
    specs: ['16 cm', '20 cm', '24 cm', '28 cm', '32 cm'],
    subcategories: {
      Knives: ['Chef knife', 'Bread knife', 'Paring knife', 'Santoku knife'],
      Cookware: ['Frying pan', 'Saucepan', 'Wok', 'Stockpot'],
      Bakeware: ['Baking tray', 'Cake tin', 'Muffin tray', 'Pie dish'],
      Utensils: ['Spatula', 'Whisk', 'Ladle', 'Kitchen tongs'],
      'Storage & jars': ['Food container', 'Spice jar', 'Bread bin', 'Lunch box'],
    },
  },
  {
    name: 'Home',
    specs: ['small', 'medium', 'large', '50×70 cm', '150×200 cm'],
    subcategories: {
      Bedding: ['Duvet cover', 'Pillow', 'Blanket', 'Bed sheet'],
      Bath: ['Bath towel', 'Bath mat', 'Shower curtain', 'Soap dispenser'],
      Lighting: ['Table lamp', 'Floor lamp', 'Ceiling light', 'Night light'],
      Decor: ['Vase', 'Photo frame', 'Scented candle', 'Wall clock'],
      Cleaning: ['Mop', 'Broom', 'Dustpan', 'Laundry basket'],
    },
  },
  {
    name: 'Garden',
    specs: ['1 m', '5 m', '15 m', '25 m', 'compact'],
    subcategories: {
      'Garden tools': ['Spade', 'Rake', 'Pruner', 'Hoe'],
      Watering: ['Garden hose', 'Watering can', 'Sprinkler', 'Hose reel'],
      'Garden furniture': ['Garden chair', 'Garden table', 'Sun lounger', 'Hammock'],
      Planters: ['Flower pot', 'Raised bed', 'Window box', 'Hanging basket'],
      'BBQ & grills': ['Charcoal grill', 'Gas grill', 'Grill brush', 'Grill mat'],
    },
  },
  {
    name: 'Electronics',
    specs: ['16 GB', '32 GB', '64 GB', '1 m', '2 m'],
    subcategories: {
      Audio: ['Headphones', 'Bluetooth speaker', 'Earbuds', 'Soundbar'],
      'Phone accessories': ['Phone case', 'Charger', 'Power bank', 'Screen protector'],
      Computers: ['Keyboard', 'Mouse', 'Monitor stand', 'Laptop bag'],
      Photo: ['Tripod', 'Camera bag', 'Memory card', 'Lens cleaner'],
      'Smart home': ['Smart plug', 'Smart bulb', 'Door sensor', 'Thermostat'],
    },
  },
  {
    name: 'Sports',
    specs: ['S', 'M', 'L', 'XL', 'one size'],
    subcategories: {
      Fitness: ['Yoga mat', 'Dumbbell', 'Kettlebell', 'Resistance band'],
      Cycling: ['Bike helmet', 'Bike light', 'Bike lock', 'Cycling gloves'],
      Running: ['Running shoes', 'Running belt', 'Sports watch', 'Water bottle'],
      Camping: ['Tent', 'Sleeping bag', 'Camping stove', 'Headlamp'],
      Swimming: ['Swim goggles', 'Swim cap', 'Swimsuit', 'Kickboard'],
    },
  },
  {
    name: "Kids' world",
    specs: ['0+', '3+', '6+', '8+', '12+'],
    subcategories: {
      Toys: ['Building set', 'Puzzle', 'Plush toy', 'Toy car'],
      'Baby care': ['Baby bottle', 'Pacifier', 'Bib', 'Baby blanket'],
      School: ['School backpack', 'Pencil case', 'Notebook', 'Colour pencils'],
      Games: ['Board game', 'Card game', 'Dominoes', 'Chess set'],
      'Kids furniture': ['Kids chair', 'Kids desk', 'Toy box', 'Bookshelf'],
    },
  },
  {
    name: 'Clothing & shoes',
    specs: ['XS', 'S', 'M', 'L', 'XL'],
    subcategories: {
      Men: ['T-shirt', 'Shirt', 'Jeans', 'Jacket'],
      Women: ['Dress', 'Blouse', 'Skirt', 'Cardigan'],
      Shoes: ['Sneakers', 'Boots', 'Sandals', 'Slippers'],
      Accessories: ['Scarf', 'Hat', 'Belt', 'Gloves'],
      Bags: ['Wallet', 'Travel bag', 'Crossbody bag', 'Tote bag'],
    },
  },
  {
    name: 'Office',
    specs: ['A4', 'A5', 'pack of 10', 'pack of 50', 'single'],
    subcategories: {
      Paper: ['Paper ream', 'Sticky notes', 'Envelope', 'Notepad'],
      Writing: ['Ballpoint pen', 'Fountain pen', 'Marker', 'Highlighter'],
      Desk: ['Desk lamp', 'Desk organiser', 'Stapler', 'Hole punch'],
      Filing: ['Binder', 'File box', 'Folder', 'Label maker'],
      'Office furniture': ['Office chair', 'Standing desk', 'Footrest', 'Filing cabinet'],
    },
  },
];

/** Product types whose leaf category is split once more ("Chef knives" > "Professional"). */
export const SPLIT_TYPES: Readonly<Record<string, readonly string[]>> = {
  'Chef knife': ['Professional', 'Everyday'],
  'Frying pan': ['Non-stick', 'Cast iron'],
  Headphones: ['Over-ear', 'On-ear'],
  'Running shoes': ['Road', 'Trail'],
  Tent: ['2-person', 'Family'],
  'Office chair': ['Ergonomic', 'Gaming'],
};

/** Warehouse ids are Retail Rocket stockIds: deliberately not all lowercase ASCII. */
export const WAREHOUSES: readonly { id: string; name: string }[] = [
  { id: 'moscow', name: 'Moscow central' },
  { id: 'spb', name: 'Saint Petersburg' },
  { id: 'ekb', name: 'Yekaterinburg' },
  { id: 'north-1', name: 'North hub #1' },
  { id: 'Склад 5', name: 'Склад №5 (Казань)' },
];

export const COLOURS = [
  'red',
  'black',
  'white',
  'blue',
  'green',
  'grey',
  'yellow',
  'orange',
  'purple',
  'beige',
  'navy',
  'pink',
] as const;

export const VENDORS = [
  'Acme',
  'Nordhaus',
  'Sakura Works',
  "O'Brien & Sons",
  'Zvezda',
  'Polar',
  'Müller',
  'Brightline',
  'Kōgei',
  'Terra',
  'Volna',
  'Ironwood',
] as const;

export const MATERIALS = [
  'steel',
  'aluminium',
  'cotton',
  'oak',
  'bamboo',
  'plastic',
  'glass',
  'wool',
] as const;

export const COUNTRIES = ['Россия', 'Deutschland', '日本', 'Italia', 'Türkiye', 'China'] as const;

/** Description fragments; {n} = product name, {v} = vendor, {m} = material. */
export const LEADS = [
  '{n} by {v}: made for everyday use & built to last.',
  'The {n} from {v} is our "best value" pick <this season>.',
  "{n}: light, sturdy & easy to clean. It's {v}'s bestseller.",
  'Meet the {n} — designed by {v}, made of {m}.',
] as const;

export const EXTRAS = [
  'Dimensions: < 40 cm wide, > 10 cm tall.',
  'Care: hand wash only; do not use "abrasive" cleaners.',
  'Доставка по всей России за 1–3 дня.',
  'Гарантия производителя — 2 года.',
  'Customers love it ⭐⭐⭐⭐⭐',
  'Eco-friendly packaging 🌱 & plastic-free.',
  "Tip: it's dishwasher-safe on the top rack.",
  'In the box: 1 × item, 1 × manual (EN/RU).',
  'Material: {m}, with a soft-touch grip.',
  'Made in small batches; colours may vary slightly.',
  'Path on the label: C:\\labels\\{v} (yes, a backslash).',
  'Key features:\n• durable {m}\n• 30-day returns',
  'Size chart:\tS\tM\tL',
  'Ships in 24 h 🚚 from our nearest warehouse.',
] as const;
