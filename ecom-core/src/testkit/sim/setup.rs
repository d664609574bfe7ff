//! A run's start: the store with its shops, products, codes and customers, and the processes.

use super::*;

impl World {
    pub(super) async fn new(seed: u64, config: &SimConfig) -> Result<World, String> {
        let mut rng = StdRng::seed_from_u64(seed);
        let start = chrono::DateTime::from_timestamp(START, 0).unwrap_or_default();
        let clock = Arc::new(ManualClock::new(start));
        let raw = crate::memory::backend().with_clock(clock.clone());
        let ledger = Arc::new(Ledger::new(raw.inventory.clone()));
        let mut counted = raw.clone();
        counted.inventory = ledger.clone();
        let jitter = rng.gen_range(0..=3);
        let mut ecom_config =
            EcomConfig::new(Secret::new(b"deterministic-simulation-secret".to_vec()));
        ecom_config.checkout.strategy = config.strategy;
        ecom_config.checkout.lock_ttl = Duration::from_secs(2);
        ecom_config.checkout.lock_wait = Duration::from_secs(5);
        ecom_config.group_commit = rng.gen_bool(0.75);
        ecom_config
            .payments
            .register(Arc::new(crate::payment::SignedWebhook::new(
                Secret::new(super::super::payments::WEBHOOK_SECRET),
                chrono::Duration::seconds(PAYMENT_TIMEOUT),
            )))
            .map_err(|e| format!("registering the online method: {e:?}"))?;
        let setup = Ecom::new(counted.clone(), ecom_config.clone());
        let mut fx = Fixture {
            raw,
            ledger,
            shops: Vec::new(),
            products: Vec::new(),
            codes: Vec::new(),
            customers: (0..CUSTOMERS).map(|_| CustomerId::generate()).collect(),
        };
        stock_shops(&setup, &mut fx, &mut rng).await?;
        let header = format!(
            "seed {seed} strategy {} processes {} jitter {jitter} group_commit {}",
            config.strategy.name(),
            config.processes,
            ecom_config.group_commit
        );
        let snap = Snapshot::take(&fx).await?;
        let digest = check::digest(&snap);
        check::mid_flight(&fx, &snap).map_err(|e| format!("at the start: {e}"))?;
        let mut world = World {
            rng,
            fx,
            clock,
            config: ecom_config,
            counted,
            jitter,
            processes: Vec::new(),
            ops: Vec::new(),
            next_op: 0,
            keys: Vec::new(),
            acked_keys: BTreeMap::new(),
            acked: Vec::new(),
            names: BTreeMap::new(),
            snap,
            digest,
            stalls: Vec::new(),
            trace: vec![header],
            stats: SimStats::default(),
        };
        for _ in 0..config.processes.max(1) {
            let process = world.start_process();
            world.processes.push(process);
        }
        let start = format!("   start | {}", world.digest);
        world.trace.push(start);
        Ok(world)
    }

    /// A new process: fresh services (nothing in memory) behind a probe of its own.
    pub(super) fn start_process(&mut self) -> Process {
        let probe = Probe::new().with_jitter(self.rng.gen(), self.jitter);
        let ecom = Ecom::new(probe.wrap(&self.counted), self.config.clone());
        Process {
            probe,
            ecom,
            armed: None,
        }
    }

    /// One of the processes, chosen at random.
    pub(super) fn process(&mut self) -> usize {
        self.rng.gen_range(0..self.processes.len())
    }

    /// The services of process `p`.
    pub(super) fn services(&self, p: usize) -> Result<Ecom, String> {
        let process = self.processes.get(p);
        process
            .map(|process| process.ecom.clone())
            .ok_or_else(|| "the run has drained".to_owned())
    }
}

/// Creates two shops of two products each (1 to 5 units), each shop with a 10% code (2 to 5
/// uses, 1 or 2 per customer).
async fn stock_shops(setup: &Ecom, fx: &mut Fixture, rng: &mut StdRng) -> Result<(), String> {
    let prices = ["4.00", "6.50", "12.00", "3.25"];
    for s in 0..2 {
        let shop = ShopId::generate();
        for price in &prices[s * 2..s * 2 + 2] {
            let units = rng.gen_range(1..=5);
            let product = setup
                .products
                .create(&shop, crate::testkit::new_product("Sim tee", price, units))
                .await
                .map_err(|e| format!("creating a product: {e:?}"))?;
            let product = setup.products.publish(&shop, &product.id).await;
            fx.products
                .push(product.map_err(|e| format!("publishing: {e:?}"))?);
        }
        let code = format!("SIM{s}");
        let max_uses = rng.gen_range(2..=5);
        create_code(setup, &shop, &code, max_uses, rng.gen_range(1..=2)).await;
        let found = fx.raw.discounts.find_active_by_code(&shop, &code).await;
        let found = found.ok().flatten().ok_or("the code was not created")?;
        fx.codes.push(Code { code, id: found.id });
        fx.shops.push(shop);
    }
    Ok(())
}
