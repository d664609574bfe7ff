//! The catalogue's in-process index: every published product's listing data, kept in each
//! order the catalogue sorts by, with posting lists per shop, kind, category (a product is
//! posted under its category and every one above it, as the subtree filter selects) and search
//! token. Listings, counts, facets, the tree and search are answered from it without the
//! store, and exactly as the store answers them: the orders are [`ProductQuery::compare`], the
//! filter is [`CatalogueFilter::matches`] evaluated on interned ids, search is
//! [`SearchWords::score`](crate::search::SearchWords::score) computed from the token postings,
//! and facets count as [`Facets::of`] does.
//!
//! A query narrows to the smallest posting list its filters name (or every product), keeps
//! the rows that pass every filter, and picks its page by rank in the sort's order (a
//! selection, not a full sort), so a listing costs a pass over its candidates and never a read
//! of the store.

use crate::category::ancestors;
use crate::id::{ProductId, ShopId};
use crate::money::Money;
use crate::page::Page;
use crate::product::ProductCursor;
use crate::product::{CatalogueFilter, Facets, Product, ProductFilter, ProductQuery, ProductSort};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::Arc;

/// The orders kept sorted (relevance ranks by score, then by [`ProductSort::Newest`]).
const ORDERS: [ProductSort; 5] = [
    ProductSort::Newest,
    ProductSort::RecentlyUpdated,
    ProductSort::PriceAsc,
    ProductSort::PriceDesc,
    ProductSort::BestSelling,
];

/// Where a product lives in the index.
type Slot = u32;

/// One published product as the index holds it.
#[derive(Debug)]
struct Row {
    product: Arc<Product>,
    shop: u32,
    kind: u32,
    /// Its category and every one above it.
    categories: Vec<u32>,
    /// Every price it sells at, in minor units.
    prices: Vec<i64>,
    /// Its search tokens, as posted.
    tokens: Vec<String>,
}

/// Names interned as dense ids, each with the sorted slots posted under it.
#[derive(Debug)]
struct Postings<K> {
    ids: HashMap<K, u32>,
    names: Vec<K>,
    slots: Vec<Vec<Slot>>,
}

impl<K> Default for Postings<K> {
    fn default() -> Self {
        Postings {
            ids: HashMap::new(),
            names: Vec::new(),
            slots: Vec::new(),
        }
    }
}

impl<K: Clone + Eq + Hash> Postings<K> {
    fn id(&mut self, name: &K) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.ids.insert(name.clone(), id);
        self.names.push(name.clone());
        self.slots.push(Vec::new());
        id
    }

    fn add(&mut self, id: u32, slot: Slot) {
        if let Some(list) = self.slots.get_mut(id as usize) {
            if let Err(at) = list.binary_search(&slot) {
                list.insert(at, slot);
            }
        }
    }

    fn remove(&mut self, id: u32, slot: Slot) {
        if let Some(list) = self.slots.get_mut(id as usize) {
            if let Ok(at) = list.binary_search(&slot) {
                list.remove(at);
            }
        }
    }

    /// The slots posted under `name`: `None` when it is not known at all.
    fn of(&self, name: &K) -> Option<&[Slot]> {
        let id = self.ids.get(name)?;
        self.slots.get(*id as usize).map(Vec::as_slice)
    }
}

/// The facets of every product (or every product in stock), kept as products come and go:
/// the unfiltered facets and the category tree are a read of these, not a pass.
#[derive(Debug, Default)]
struct Totals {
    total: u64,
    categories: Vec<u64>,
    kinds: Vec<u64>,
    shops: Vec<u64>,
    /// Lowest prices (each product's `price`), with how many products have each.
    lows: BTreeMap<i64, (u64, Money)>,
    /// Highest prices (each product's [`Product::price_max`]), with how many have each.
    highs: BTreeMap<i64, (u64, Money)>,
}

impl Totals {
    /// Counts `row` in (`by` 1) or out (`by` -1).
    fn count(&mut self, row: &Row, add: bool) {
        fn bump(counts: &mut Vec<u64>, id: u32, add: bool) {
            let id = id as usize;
            if counts.len() <= id {
                counts.resize(id + 1, 0);
            }
            counts[id] = if add {
                counts[id] + 1
            } else {
                counts[id].saturating_sub(1)
            };
        }
        fn price(prices: &mut BTreeMap<i64, (u64, Money)>, money: Money, add: bool) {
            let entry = prices.entry(money.minor).or_insert((0, money));
            entry.0 = if add {
                entry.0 + 1
            } else {
                entry.0.saturating_sub(1)
            };
            if entry.0 == 0 {
                prices.remove(&money.minor);
            }
        }
        self.total = if add {
            self.total + 1
        } else {
            self.total.saturating_sub(1)
        };
        for category in &row.categories {
            bump(&mut self.categories, *category, add);
        }
        bump(&mut self.kinds, row.kind, add);
        bump(&mut self.shops, row.shop, add);
        price(&mut self.lows, row.product.price, add);
        price(&mut self.highs, row.product.price_max(), add);
    }
}

/// One order: the slots sorted by it, and each slot's rank in it.
#[derive(Debug)]
struct Order {
    query: ProductQuery,
    sorted: Vec<Slot>,
    rank: Vec<u32>,
    /// The ranks no longer follow `sorted`.
    stale: bool,
}

impl Order {
    /// Where `product` goes in this order: after every row the order puts before it.
    fn place_of(&self, rows: &[Option<Row>], product: &Product) -> usize {
        self.sorted.partition_point(|s| {
            row_of(rows, *s)
                .is_some_and(|r| self.query.compare(&r.product, product) == Ordering::Less)
        })
    }

    /// Where `slot`, holding `product`, is in this order.
    fn position_of(&self, rows: &[Option<Row>], slot: Slot, product: &Product) -> Option<usize> {
        let at = self.place_of(rows, product);
        if self.sorted.get(at) == Some(&slot) {
            return Some(at);
        }
        // Unreachable while the order is sorted; kept so a bug cannot leave a ghost.
        self.sorted.iter().position(|s| *s == slot)
    }
}

/// The index of the published catalogue (see the module doc).
#[derive(Debug)]
pub(crate) struct Index {
    rows: Vec<Option<Row>>,
    free: Vec<Slot>,
    slots: HashMap<ProductId, Slot>,
    /// The version at which each product left the catalogue (unpublished): an older published
    /// version read by a poll before it left does not bring it back.
    left: HashMap<ProductId, u64>,
    orders: Vec<Order>,
    shops: Postings<ShopId>,
    kinds: Postings<String>,
    categories: Postings<String>,
    /// Search token to the sorted slots holding it (ordered, for prefix ranges).
    tokens: BTreeMap<String, Vec<Slot>>,
    /// Each price a row sells at (minor units; a product with models has several), with its
    /// slot: the candidates of a price range.
    by_price: BTreeSet<(i64, Slot)>,
    /// The facets of every product, and of every product in stock.
    all: Totals,
    in_stock: Totals,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            rows: Vec::new(),
            free: Vec::new(),
            slots: HashMap::new(),
            left: HashMap::new(),
            orders: ORDERS
                .iter()
                .map(|sort| Order {
                    query: ProductQuery {
                        filter: ProductFilter::Catalogue(CatalogueFilter::default()),
                        sort: *sort,
                        page: Page::default(),
                        after: None,
                    },
                    sorted: Vec::new(),
                    rank: Vec::new(),
                    stale: false,
                })
                .collect(),
            shops: Postings::default(),
            kinds: Postings::default(),
            categories: Postings::default(),
            tokens: BTreeMap::new(),
            by_price: BTreeSet::new(),
            all: Totals::default(),
            in_stock: Totals::default(),
        }
    }
}

/// A filter resolved against the index: `None` in a field means "not filtered".
struct Resolved<'a> {
    shop: Option<u32>,
    kind: Option<u32>,
    category: Option<u32>,
    min_price: Option<i64>,
    max_price: Option<i64>,
    in_stock: bool,
    /// Per slot, the words matched (whole words counted, the prefix as the top bit); with
    /// keywords only.
    scores: Option<Vec<u8>>,
    /// The slots to look at (`None`: every row).
    candidates: Option<std::borrow::Cow<'a, [Slot]>>,
}

/// The prefix word's bit in a score.
const PREFIX_BIT: u8 = 0x80;

fn score_of(raw: u8) -> u32 {
    u32::from(raw & !PREFIX_BIT) + u32::from(raw & PREFIX_BIT != 0)
}

impl Index {
    /// An index of `products` (those published; others are left out).
    pub(crate) fn of(products: impl IntoIterator<Item = Product>) -> Self {
        let mut index = Index::default();
        for product in products {
            if product.is_published {
                index.insert_row(product);
            }
        }
        // One sort per order rather than one insertion per product.
        for order in &mut index.orders {
            let rows = &index.rows;
            order.sorted = rows
                .iter()
                .enumerate()
                .filter(|(_, r)| r.is_some())
                .map(|(slot, _)| slot as Slot)
                .collect();
            order.sorted.sort_by(|a, b| {
                let (a, b) = (row_of(rows, *a), row_of(rows, *b));
                match (a, b) {
                    (Some(a), Some(b)) => order.query.compare(&a.product, &b.product),
                    _ => Ordering::Equal,
                }
            });
            order.stale = true;
        }
        index.rerank();
        index
    }

    /// The product `id` as held, if published.
    pub(crate) fn get(&self, id: &ProductId) -> Option<&Arc<Product>> {
        let slot = self.slots.get(id)?;
        row_of(&self.rows, *slot).map(|r| &r.product)
    }

    /// Takes in `products` as they now are: published ones added or replaced, others removed;
    /// one older than the version held is left out (a poll that read it before a write this
    /// process applied already). Returns how many changed the index.
    pub(crate) fn apply(&mut self, products: impl IntoIterator<Item = Product>) -> usize {
        let mut changed = 0;
        for product in products {
            let held = self.get(&product.id);
            let older = match held {
                Some(p) => p.version > product.version,
                None => self
                    .left
                    .get(&product.id)
                    .is_some_and(|v| *v > product.version),
            };
            if older
                || held.is_some_and(|p| **p == product)
                || (held.is_none() && !product.is_published)
            {
                continue;
            }
            changed += 1;
            if let Some(slot) = self.same_postings(&product) {
                self.move_in_place(slot, product);
                continue;
            }
            self.remove(&product.id);
            if product.is_published {
                self.left.remove(&product.id);
                let slot = self.insert_row(product);
                self.place(slot);
            } else {
                self.left.insert(product.id.clone(), product.version);
            }
        }
        if changed > 0 {
            self.rerank();
        }
        changed
    }

    /// The slot of the held version of `product` when the new version stays published under
    /// the same postings and price (shop, kind, categories, words, prices: a units-sold
    /// refresh, a stock-out, an edit of its name or attributes).
    fn same_postings(&self, product: &Product) -> Option<Slot> {
        let slot = self.slots.get(&product.id).copied()?;
        let row = row_of(&self.rows, slot)?;
        let old = &row.product;
        let same = product.is_published
            && old.shop_id == product.shop_id
            && old.kind == product.kind
            && old.category == product.category
            && old.price == product.price
            && old.search_terms == product.search_terms
            && row
                .prices
                .iter()
                .copied()
                .eq(product.prices().map(|m| m.minor));
        same.then_some(slot)
    }

    /// Takes in a new version of the product held at `slot` under the same postings
    /// ([`same_postings`](Self::same_postings)): only the orders whose key moved move it, and
    /// only the ranks between its old and new place are renumbered, so a flash sale's
    /// refreshes cost a few ranks, not a pass over every order.
    fn move_in_place(&mut self, slot: Slot, product: Product) {
        let Some(row) = row_of(&self.rows, slot) else {
            return;
        };
        let old = row.product.clone();
        if old.in_stock != product.in_stock {
            self.in_stock.count(row, product.in_stock);
        }
        let rows = &self.rows;
        for order in &mut self.orders {
            if order.query.key_of(&old) == order.query.key_of(&product) {
                continue;
            }
            let Some(from) = order.position_of(rows, slot, &old) else {
                continue;
            };
            order.sorted.remove(from);
            let to = order.place_of(rows, &product);
            order.sorted.insert(to, slot);
            if !order.stale {
                let (low, high) = (from.min(to), from.max(to));
                for (rank, s) in order.sorted.iter().enumerate().take(high + 1).skip(low) {
                    if let Some(r) = order.rank.get_mut(*s as usize) {
                        *r = u32::try_from(rank).unwrap_or(u32::MAX);
                    }
                }
            }
        }
        if let Some(Some(row)) = self.rows.get_mut(slot as usize) {
            row.product = Arc::new(product);
        }
    }

    /// Removes `id` from everything.
    fn remove(&mut self, id: &ProductId) {
        let Some(slot) = self.slots.get(id).copied() else {
            return;
        };
        for order in &mut self.orders {
            let rows = &self.rows;
            let Some(row) = row_of(rows, slot) else {
                continue;
            };
            if let Some(at) = order.position_of(rows, slot, &row.product) {
                order.sorted.remove(at);
            }
            order.stale = true;
        }
        let Some(row) = self.rows.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        self.all.count(&row, false);
        if row.product.in_stock {
            self.in_stock.count(&row, false);
        }
        self.shops.remove(row.shop, slot);
        self.kinds.remove(row.kind, slot);
        for category in &row.categories {
            self.categories.remove(*category, slot);
        }
        for token in &row.tokens {
            if let Some(list) = self.tokens.get_mut(token) {
                if let Ok(at) = list.binary_search(&slot) {
                    list.remove(at);
                }
                if list.is_empty() {
                    self.tokens.remove(token);
                }
            }
        }
        for price in &row.prices {
            self.by_price.remove(&(*price, slot));
        }
        self.slots.remove(id);
        self.free.push(slot);
    }

    /// Stores `product`'s row and postings (not its place in the orders).
    fn insert_row(&mut self, product: Product) -> Slot {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.rows.push(None);
                u32::try_from(self.rows.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let shop = self.shops.id(&product.shop_id);
        self.shops.add(shop, slot);
        let kind = self.kinds.id(&product.kind);
        self.kinds.add(kind, slot);
        let categories: Vec<u32> = product
            .category
            .as_deref()
            .map(ancestors)
            .unwrap_or_default()
            .iter()
            .map(|path| self.categories.id(path))
            .collect();
        for category in &categories {
            self.categories.add(*category, slot);
        }
        let mut tokens = product.search_terms.clone();
        tokens.sort();
        tokens.dedup();
        for token in &tokens {
            let list = self.tokens.entry(token.clone()).or_default();
            if let Err(at) = list.binary_search(&slot) {
                list.insert(at, slot);
            }
        }
        self.slots.insert(product.id.clone(), slot);
        let prices: Vec<i64> = product.prices().map(|m| m.minor).collect();
        for price in &prices {
            self.by_price.insert((*price, slot));
        }
        let row = Row {
            prices,
            shop,
            kind,
            categories,
            tokens,
            product: Arc::new(product),
        };
        self.all.count(&row, true);
        if row.product.in_stock {
            self.in_stock.count(&row, true);
        }
        if let Some(place) = self.rows.get_mut(slot as usize) {
            *place = Some(row);
        }
        slot
    }

    /// Puts `slot` in its place in every order.
    fn place(&mut self, slot: Slot) {
        let rows = &self.rows;
        let Some(row) = row_of(rows, slot) else {
            return;
        };
        for order in &mut self.orders {
            let at = order.place_of(rows, &row.product);
            order.sorted.insert(at, slot);
            order.stale = true;
        }
    }

    /// Renumbers the ranks of the orders that moved.
    fn rerank(&mut self) {
        let len = self.rows.len();
        for order in self.orders.iter_mut().filter(|o| o.stale) {
            order.rank.clear();
            order.rank.resize(len, u32::MAX);
            for (rank, slot) in order.sorted.iter().enumerate() {
                if let Some(r) = order.rank.get_mut(*slot as usize) {
                    *r = u32::try_from(rank).unwrap_or(u32::MAX);
                }
            }
            order.stale = false;
        }
    }

    fn order(&self, sort: ProductSort) -> Option<&Order> {
        let sort = match sort {
            ProductSort::Relevance => ProductSort::Newest,
            other => other,
        };
        self.orders.iter().find(|o| o.query.sort == sort)
    }

    /// `filter` resolved to ids, scores and the candidates to look at; `None` when nothing can
    /// match (a shop, kind or category nothing is posted under).
    fn resolve<'a>(&'a self, filter: &CatalogueFilter) -> Option<Resolved<'a>> {
        let mut lists: Vec<&'a [Slot]> = Vec::new();
        let mut posted = |postings: Option<&'a [Slot]>| -> Option<()> {
            lists.push(postings?);
            Some(())
        };
        let shop = match &filter.shop {
            Some(shop) => {
                posted(self.shops.of(shop))?;
                self.shops.ids.get(shop).copied()
            }
            None => None,
        };
        let kind = match &filter.kind {
            Some(kind) => {
                posted(self.kinds.of(kind))?;
                self.kinds.ids.get(kind).copied()
            }
            None => None,
        };
        let category = match &filter.category {
            Some(category) => {
                posted(self.categories.of(category))?;
                self.categories.ids.get(category).copied()
            }
            None => None,
        };
        let mut candidates = lists
            .into_iter()
            .min_by_key(|l| l.len())
            .map(std::borrow::Cow::Borrowed);
        if filter.min_price.is_some() || filter.max_price.is_some() {
            let fewer_than = candidates.as_ref().map_or(self.rows.len(), |c| c.len());
            if let Some(priced) = self.priced(filter.min_price, filter.max_price, fewer_than) {
                candidates = Some(std::borrow::Cow::Owned(priced));
            }
        }
        let scores = match &filter.words {
            None => None,
            Some(words) => {
                let mut scores = vec![0u8; self.rows.len()];
                let mut touched: Vec<Slot> = Vec::new();
                for word in &words.whole {
                    for slot in self.tokens.get(word).into_iter().flatten() {
                        if let Some(s) = scores.get_mut(*slot as usize) {
                            if *s == 0 {
                                touched.push(*slot);
                            }
                            *s = s.saturating_add(1);
                        }
                    }
                }
                let prefixed = self
                    .tokens
                    .range(words.prefix.clone()..)
                    .take_while(|(token, _)| token.starts_with(words.prefix.as_str()));
                for (_, slots) in prefixed {
                    for slot in slots {
                        if let Some(s) = scores.get_mut(*slot as usize) {
                            if *s == 0 {
                                touched.push(*slot);
                            }
                            *s |= PREFIX_BIT;
                        }
                    }
                }
                if candidates.as_ref().is_none_or(|c| touched.len() < c.len()) {
                    touched.sort_unstable();
                    candidates = Some(std::borrow::Cow::Owned(touched));
                }
                Some(scores)
            }
        };
        Some(Resolved {
            shop,
            kind,
            category,
            min_price: filter.min_price,
            max_price: filter.max_price,
            in_stock: filter.in_stock,
            scores,
            candidates,
        })
    }

    /// The slots selling at a price within `min..=max`, sorted, when there are fewer than
    /// `fewer_than` (prices) of them; `None` when a pass over the other candidates is cheaper.
    fn priced(&self, min: Option<i64>, max: Option<i64>, fewer_than: usize) -> Option<Vec<Slot>> {
        let (min, max) = (min.unwrap_or(i64::MIN), max.unwrap_or(i64::MAX));
        if min > max {
            return Some(Vec::new());
        }
        let mut slots = Vec::new();
        for (_, slot) in self.by_price.range((min, Slot::MIN)..=(max, Slot::MAX)) {
            if slots.len() >= fewer_than {
                return None;
            }
            slots.push(*slot);
        }
        slots.sort_unstable();
        slots.dedup();
        Some(slots)
    }

    /// Whether the row in `slot` passes every filter of `f`.
    fn passes(&self, f: &Resolved<'_>, slot: Slot) -> Option<&Row> {
        let row = row_of(&self.rows, slot)?;
        let ok = f.shop.is_none_or(|s| row.shop == s)
            && f.kind.is_none_or(|k| row.kind == k)
            && f.category.is_none_or(|c| row.categories.contains(&c))
            && (!f.in_stock || row.product.in_stock)
            && (f.min_price.is_none() && f.max_price.is_none()
                || row.prices.iter().any(|p| {
                    f.min_price.is_none_or(|min| *p >= min)
                        && f.max_price.is_none_or(|max| *p <= max)
                }))
            && f.scores.as_ref().is_none_or(|scores| {
                scores
                    .get(slot as usize)
                    .is_some_and(|raw| score_of(*raw) > 0)
            });
        ok.then_some(row)
    }

    /// The slots `filter` selects, in slot order.
    fn select(&self, filter: &CatalogueFilter) -> (Vec<Slot>, Option<Vec<u8>>) {
        let Some(resolved) = self.resolve(filter) else {
            return (Vec::new(), None);
        };
        let selected: Vec<Slot> = match &resolved.candidates {
            Some(candidates) => candidates
                .iter()
                .copied()
                .filter(|slot| self.passes(&resolved, *slot).is_some())
                .collect(),
            None => (0..self.rows.len())
                .map(|slot| slot as Slot)
                .filter(|slot| self.passes(&resolved, *slot).is_some())
                .collect(),
        };
        (selected, resolved.scores)
    }

    /// The products `filter` selects, ordered by `sort` and cut to `page`, and how many match
    /// in all: what [`ProductRepo::list`](crate::product::ProductRepo::list) and
    /// [`ProductRepo::count`](crate::product::ProductRepo::count) answer.
    pub(crate) fn listing(
        &self,
        filter: &CatalogueFilter,
        sort: ProductSort,
        page: Page,
        after: Option<&ProductCursor>,
    ) -> (Vec<Arc<Product>>, u64) {
        let after = after.map(|after| ProductQuery {
            filter: ProductFilter::Catalogue(filter.clone()),
            sort,
            page,
            after: Some(after.clone()),
        });
        if let Some(walked) = self.walk(filter, sort, page, after.as_ref()) {
            return walked;
        }
        let (mut selected, scores) = self.select(filter);
        let total = selected.len() as u64;
        if let Some(after) = &after {
            selected.retain(|slot| {
                row_of(&self.rows, *slot).is_some_and(|r| after.is_after(&r.product))
            });
        }
        let Some(order) = self.order(sort) else {
            return (Vec::new(), total);
        };
        let rank = |slot: Slot| order.rank.get(slot as usize).copied().unwrap_or(u32::MAX);
        // The key of each match: most words first for relevance (then the order's rank).
        let relevance = matches!(sort, ProductSort::Relevance);
        let mut keyed: Vec<(u32, u32, Slot)> = selected
            .into_iter()
            .map(|slot| {
                let score = match (&scores, relevance) {
                    (Some(scores), true) => scores.get(slot as usize).copied().map_or(0, score_of),
                    _ => 0,
                };
                (u32::MAX - score, rank(slot), slot)
            })
            .collect();
        let skip = usize::try_from(page.skip).unwrap_or(usize::MAX);
        let end = skip.saturating_add(page.limit as usize);
        if skip >= keyed.len() {
            return (Vec::new(), total);
        }
        if end < keyed.len() {
            keyed.select_nth_unstable(end);
            keyed.truncate(end);
        }
        keyed.sort_unstable();
        let products = keyed
            .into_iter()
            .skip(skip)
            .filter_map(|(_, _, slot)| row_of(&self.rows, slot).map(|r| r.product.clone()))
            .collect();
        (products, total)
    }

    /// How many products `filter` selects.
    pub(crate) fn count(&self, filter: &CatalogueFilter) -> u64 {
        self.counted(filter)
            .unwrap_or_else(|| self.select(filter).0.len() as u64)
    }

    /// How many products `filter` selects, when the counters kept per product know it: no
    /// filter, or one of shop, kind and category, each with or without `in_stock`.
    fn counted(&self, filter: &CatalogueFilter) -> Option<u64> {
        if filter.words.is_some() || filter.min_price.is_some() || filter.max_price.is_some() {
            return None;
        }
        let totals = if filter.in_stock {
            &self.in_stock
        } else {
            &self.all
        };
        fn at<K: Eq + Hash>(counts: &[u64], postings: &Postings<K>, name: &K) -> u64 {
            postings
                .ids
                .get(name)
                .and_then(|id| counts.get(*id as usize))
                .copied()
                .unwrap_or(0)
        }
        match (&filter.shop, &filter.kind, &filter.category) {
            (None, None, None) => Some(totals.total),
            (Some(shop), None, None) => Some(at(&totals.shops, &self.shops, shop)),
            (None, Some(kind), None) => Some(at(&totals.kinds, &self.kinds, kind)),
            (None, None, Some(category)) => {
                Some(at(&totals.categories, &self.categories, category))
            }
            _ => None,
        }
    }

    /// A listing answered by walking `sort`'s order and stopping at the end of the page, when
    /// the counters know how many match and the walk is expected to look at fewer rows than a
    /// pass over the candidates would (about `(skip + limit) * rows / matches` against the
    /// candidates): a page of a big listing costs its page, not its matches.
    fn walk(
        &self,
        filter: &CatalogueFilter,
        sort: ProductSort,
        page: Page,
        after: Option<&ProductQuery>,
    ) -> Option<(Vec<Arc<Product>>, u64)> {
        let total = self.counted(filter)?;
        let order = self.order(sort)?;
        let skip = usize::try_from(page.skip).unwrap_or(usize::MAX);
        let limit = page.limit as usize;
        if total == 0 || skip as u64 >= total {
            return Some((Vec::new(), total));
        }
        let resolved = self.resolve(filter)?;
        let rows = order.sorted.len() as u128;
        let candidates = resolved
            .candidates
            .as_ref()
            .map_or(rows, |c| c.len() as u128);
        let expected = (skip as u128 + limit as u128) * rows / u128::from(total);
        if expected > candidates {
            return None;
        }
        // A cursor's page starts where the order passes it: the order is the query's.
        let start = after.map_or(0, |after| {
            order.sorted.partition_point(|slot| {
                row_of(&self.rows, *slot).is_some_and(|r| !after.is_after(&r.product))
            })
        });
        let products = order
            .sorted
            .get(start..)
            .unwrap_or_default()
            .iter()
            .filter_map(|slot| self.passes(&resolved, *slot))
            .skip(skip)
            .take(limit)
            .map(|row| row.product.clone())
            .collect();
        Some((products, total))
    }

    /// The facets of the products `filter` selects (as [`Facets::of`] counts them).
    pub(crate) fn facets(&self, filter: &CatalogueFilter) -> Facets {
        let everything = CatalogueFilter::default();
        if filter == &everything {
            return self.totals(&self.all);
        }
        if filter
            == &(CatalogueFilter {
                in_stock: true,
                ..everything
            })
        {
            return self.totals(&self.in_stock);
        }
        let (selected, _) = self.select(filter);
        let mut categories = vec![0u64; self.categories.names.len()];
        let mut kinds = vec![0u64; self.kinds.names.len()];
        let mut shops = vec![0u64; self.shops.names.len()];
        let mut facets = Facets::default();
        let mut price: Option<(Money, Money)> = None;
        for slot in selected {
            let Some(row) = row_of(&self.rows, slot) else {
                continue;
            };
            facets.total += 1;
            for category in &row.categories {
                if let Some(n) = categories.get_mut(*category as usize) {
                    *n += 1;
                }
            }
            if let Some(n) = kinds.get_mut(row.kind as usize) {
                *n += 1;
            }
            if let Some(n) = shops.get_mut(row.shop as usize) {
                *n += 1;
            }
            let (low, high) = (row.product.price, row.product.price_max());
            price = Some(match price {
                None => (low, high),
                Some((lo, hi)) => (
                    if low.minor < lo.minor { low } else { lo },
                    if high.minor > hi.minor { high } else { hi },
                ),
            });
        }
        facets.price = price;
        facets.categories = named(&self.categories.names, &categories);
        facets.kinds = named(&self.kinds.names, &kinds);
        facets.shops = named(&self.shops.names, &shops);
        facets
    }
}

impl Index {
    /// The facets `totals` keep.
    fn totals(&self, totals: &Totals) -> Facets {
        let low = totals.lows.first_key_value().map(|(_, (_, m))| *m);
        let high = totals.highs.last_key_value().map(|(_, (_, m))| *m);
        Facets {
            total: totals.total,
            categories: named(&self.categories.names, &totals.categories),
            kinds: named(&self.kinds.names, &totals.kinds),
            shops: named(&self.shops.names, &totals.shops),
            price: low.zip(high),
        }
    }
}

/// The non-zero `counts` by name, sorted by name.
fn named<K: Clone + Ord>(names: &[K], counts: &[u64]) -> Vec<(K, u64)> {
    let mut out: Vec<(K, u64)> = names
        .iter()
        .zip(counts)
        .filter(|(_, n)| **n > 0)
        .map(|(name, n)| (name.clone(), *n))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn row_of(rows: &[Option<Row>], slot: Slot) -> Option<&Row> {
    rows.get(slot as usize).and_then(Option::as_ref)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::money::Currency;
    use crate::search::{tokens, SearchWords};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    const WORDS: [&str; 8] = [
        "red", "tee", "teapot", "lamp", "café", "blue", "tea", "sofa",
    ];

    fn product(rng: &mut StdRng, shops: &[ShopId], at: Timestamp) -> Product {
        let name: Vec<&str> = (0..rng.gen_range(1..=3))
            .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
            .collect();
        let name = name.join(" ");
        let published = rng.gen_range(0..5) != 0;
        Product {
            id: ProductId::generate(),
            shop_id: shops[rng.gen_range(0..shops.len())].clone(),
            slug: String::new(),
            search_terms: tokens(&name),
            name,
            thumb: String::new(),
            description: String::new(),
            price: Money::new(rng.gen_range(1..100), Currency::USD),
            quantity: 1,
            kind: ["A", "B"][rng.gen_range(0..2)].to_owned(),
            attributes: serde_json::Map::new(),
            rating: 4.0,
            variations: Vec::new(),
            models: Vec::new(),
            category: [None, Some("X"), Some("X/Y"), Some("Z/Y")][rng.gen_range(0..4)]
                .map(str::to_owned),
            sold: rng.gen_range(0..4),
            in_stock: rng.gen_bool(0.7),
            low_stock: false,
            low_stock_threshold: 0,
            is_draft: !published,
            is_published: published,
            version: 0,
            created_at: at + chrono::Duration::seconds(rng.gen_range(0..20)),
            updated_at: at,
        }
    }

    fn filter(rng: &mut StdRng, shops: &[ShopId]) -> CatalogueFilter {
        CatalogueFilter {
            category: rng
                .gen_bool(0.3)
                .then(|| ["X", "X/Y", "Z", "Q"][rng.gen_range(0..4)].to_owned()),
            shop: rng
                .gen_bool(0.3)
                .then(|| shops[rng.gen_range(0..shops.len())].clone()),
            kind: rng
                .gen_bool(0.3)
                .then(|| ["A", "B", "C"][rng.gen_range(0..3)].to_owned()),
            min_price: rng.gen_bool(0.3).then(|| rng.gen_range(0..60)),
            max_price: rng.gen_bool(0.3).then(|| rng.gen_range(40..100)),
            words: rng
                .gen_bool(0.4)
                .then(|| {
                    let n = rng.gen_range(1..=3);
                    let text: Vec<&str> = (0..n)
                        .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
                        .collect();
                    let mut text = text.join(" ");
                    if rng.gen_bool(0.5) {
                        text.truncate(text.len().saturating_sub(2));
                    }
                    SearchWords::parse(&text).ok().flatten()
                })
                .flatten(),
            in_stock: rng.gen_bool(0.3),
        }
    }

    /// A version older than the one held, or than the one a product left at, is left out:
    /// a poll that read a product before this process applied its own write cannot undo it.
    #[test]
    fn older_versions_never_replace_newer_ones() {
        let mut rng = StdRng::seed_from_u64(3);
        let shops = [ShopId::generate()];
        let p = product(&mut rng, &shops, Timestamp::default());
        let at = |version: u64, published: bool| Product {
            version,
            is_published: published,
            is_draft: !published,
            name: format!("v{version}"),
            ..p.clone()
        };
        let mut index = Index::of([at(1, true)]);
        assert_eq!(index.apply([at(3, false)]), 1, "unpublished at 3");
        assert_eq!(index.apply([at(2, true)]), 0, "read before it left");
        assert!(index.get(&p.id).is_none());
        assert_eq!(index.apply([at(4, true)]), 1, "published again");
        assert_eq!(index.apply([at(3, true)]), 0);
        assert_eq!(index.get(&p.id).map(|p| p.version), Some(4));
        assert_eq!(index.count(&CatalogueFilter::default()), 1);
    }

    /// Every listing, count and facet of the index equals the definitions' brute force, while
    /// products come, change and go.
    #[test]
    fn answers_equal_the_definitions_through_changes() {
        let mut rng = StdRng::seed_from_u64(7);
        let shops: Vec<ShopId> = (0..4).map(|_| ShopId::generate()).collect();
        let at = Timestamp::default();
        let mut all: Vec<Product> = (0..300).map(|_| product(&mut rng, &shops, at)).collect();
        let mut index = Index::of(all.clone());
        let mut walked = 0;
        for round in 0..60 {
            // Change, unpublish or add a few.
            // Every other round only moves products within the orders (no full renumbering).
            let moves_only = round % 2 == 1;
            let mut changed = Vec::new();
            for _ in 0..10 {
                let i = rng.gen_range(0..all.len());
                let next = if moves_only || rng.gen_bool(0.5) {
                    // A refresh or an edit that keeps its postings: moves in some orders.
                    let mut next = all[i].clone();
                    next.sold = rng.gen_range(0..4);
                    next.in_stock = rng.gen_bool(0.7);
                    next.updated_at += chrono::Duration::seconds(rng.gen_range(-2..3));
                    next.version += 1;
                    next
                } else {
                    let mut next = product(&mut rng, &shops, at);
                    next.id = all[i].id.clone();
                    next.version = all[i].version + 1;
                    next
                };
                all[i] = next.clone();
                changed.push(next);
            }
            if !moves_only {
                let new = product(&mut rng, &shops, at);
                all.push(new.clone());
                changed.push(new);
            }
            index.apply(changed);
            for _ in 0..20 {
                let f = filter(&mut rng, &shops);
                let sort = [
                    ProductSort::Newest,
                    ProductSort::PriceAsc,
                    ProductSort::PriceDesc,
                    ProductSort::BestSelling,
                    ProductSort::Relevance,
                    ProductSort::RecentlyUpdated,
                ][rng.gen_range(0..6)];
                let query = ProductQuery {
                    filter: ProductFilter::Catalogue(f.clone()),
                    sort,
                    page: Page::offset(rng.gen_range(0..30), rng.gen_range(1..40)).unwrap(),
                    after: None,
                };
                let mut expected: Vec<&Product> = all.iter().filter(|p| f.matches(p)).collect();
                expected.sort_by(|a, b| query.compare(a, b));
                walked += usize::from(index.walk(&f, sort, query.page, None).is_some());
                let (page, total) = index.listing(&f, sort, query.page, None);
                assert_eq!(total, expected.len() as u64, "round {round}: {f:?}");
                assert_eq!(index.count(&f), total);
                let want: Vec<&ProductId> = query
                    .page
                    .apply(expected.iter().copied())
                    .into_iter()
                    .map(|p| &p.id)
                    .collect();
                let got: Vec<&ProductId> = page.iter().map(|p| &p.id).collect();
                assert_eq!(got, want, "round {round}: {query:?}");
                // The page after a cursor: the page's last product's, or any product's (one
                // that is not listed, or no longer, included).
                let from = match page.last() {
                    Some(last) if rng.gen_bool(0.5) => last.as_ref(),
                    _ => &all[rng.gen_range(0..all.len())],
                };
                let next = ProductQuery {
                    page: Page::offset(0, query.page.limit).unwrap(),
                    after: Some(query.cursor_of(from)),
                    ..query.clone()
                };
                let want: Vec<&ProductId> = expected
                    .iter()
                    .filter(|p| next.is_after(p))
                    .take(next.page.limit as usize)
                    .map(|p| &p.id)
                    .collect();
                let (after, total_after) = index.listing(&f, sort, next.page, next.after.as_ref());
                assert_eq!(total_after, total);
                let got: Vec<&ProductId> = after.iter().map(|p| &p.id).collect();
                assert_eq!(got, want, "round {round}: {next:?}");
                assert_eq!(index.facets(&f), Facets::of(expected.iter().copied()));
            }
        }
        assert!(walked > 100, "pages walked in order: {walked} of 1200");
        assert_eq!(
            index.count(&CatalogueFilter::default()),
            all.iter().filter(|p| p.is_published).count() as u64
        );
        for in_stock in [false, true] {
            let f = CatalogueFilter {
                in_stock,
                ..CatalogueFilter::default()
            };
            let expected = Facets::of(all.iter().filter(|p| f.matches(p)));
            assert_eq!(
                index.facets(&f),
                expected,
                "kept totals, in stock {in_stock}"
            );
        }
    }
}
