//! `ecom-server`: runs the REST API (`serve`, the default), manages API keys, or rebuilds the
//! Redis stock gate's count of a product.

use clap::{Parser, Subcommand};
use ecom_core::api_key::Permission;
use ecom_core::event::EventKind;
use ecom_core::id::ProductId;
use ecom_core::service::NewEndpoint;
use ecom_core::webhook::EndpointOwner;
use ecom_http::{build_ecom, serve, shutdown_signal, Config, Settings};
use std::path::PathBuf;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// mimalloc: many small allocations from many threads (requests, orders) without glibc
/// malloc's per-thread arena growth; measured in BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// ecom's REST server. Settings: defaults < TOML file (--config) < ECOM_* env < flags.
#[derive(Debug, Parser)]
#[command(name = "ecom-server", version, about)]
struct Cli {
    /// A TOML file of settings (keys as the flags, snake_case).
    #[arg(long, env = "ECOM_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Manage API keys.
    Apikey {
        #[command(subcommand)]
        action: ApikeyAction,
    },
    /// Operate the Redis stock gate shared by the server processes.
    Gate {
        #[command(subcommand)]
        action: GateAction,
    },
    /// Operate the public catalogue's copies of stock on the products.
    Catalogue {
        #[command(subcommand)]
        action: CatalogueAction,
    },
    /// Manage the platform's webhook endpoints (they receive every shop's events).
    Webhook {
        #[command(subcommand)]
        action: WebhookAction,
    },
}

#[derive(Debug, Subcommand)]
enum WebhookAction {
    /// Register a platform endpoint and print it with its signing secret (shown once).
    Add {
        /// Where deliveries go.
        #[arg(long)]
        url: String,
        /// Event types, comma-separated (e.g. order.placed,order.paid).
        #[arg(long, value_delimiter = ',', required = true)]
        events: Vec<String>,
        /// A note.
        #[arg(long, default_value = "")]
        description: String,
    },
}

#[derive(Debug, Subcommand)]
enum CatalogueAction {
    /// Rewrite every published product's units sold and in-stock flags from its stock records
    /// where they disagree, and print how many did (every server's read model follows within
    /// its staleness bound; the rest of a read model is rebuilt by each server at start).
    Rebuild,
}

#[derive(Debug, Subcommand)]
enum GateAction {
    /// Rebuild a product's gate count from the store and print it; without `--product`,
    /// reconcile every product the gate counts (what the servers also do periodically).
    Rebuild {
        /// The product id.
        #[arg(long)]
        product: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ApikeyAction {
    /// Create a key and print it (shown once; only its HMAC is stored).
    Create {
        /// Permission codes, comma-separated: 0000, 1111, 2222.
        #[arg(long, value_delimiter = ',', required = true)]
        permissions: Vec<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref(), cli.settings)?;
    tracing::debug!(?config, "configuration");
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.bind)
                .await
                .map_err(|err| anyhow::anyhow!("cannot listen on {}: {err}", config.bind))?;
            serve(config, listener, shutdown_signal()).await
        }
        Command::Apikey {
            action: ApikeyAction::Create { permissions },
        } => {
            let permissions = permissions
                .iter()
                .map(|code| Permission::parse(code))
                .collect::<Result<Vec<_>, _>>()?;
            if config.mongo_uri.is_none() {
                anyhow::bail!(
                    "apikey create needs a persistent backend (set ECOM_MONGO_URI and ECOM_SECRET); \
                     the memory backend forgets keys when this command exits; \
                     use ECOM_BOOTSTRAP_API_KEY or the key printed by `ecom-server serve` instead"
                );
            }
            let ecom = build_ecom(&config).await?;
            let key = ecom.api_keys.create(permissions).await?;
            println!("{}", key.key);
            Ok(())
        }
        Command::Webhook {
            action:
                WebhookAction::Add {
                    url,
                    events,
                    description,
                },
        } => {
            let events = events
                .iter()
                .map(|name| EventKind::parse(name.trim(), "events"))
                .collect::<Result<Vec<_>, _>>()?;
            if config.mongo_uri.is_none() {
                anyhow::bail!(
                    "webhook add needs the servers' store (set ECOM_MONGO_URI and ECOM_SECRET); \
                     the memory backend forgets endpoints when this command exits; \
                     use POST /v1/api/webhooks/endpoints with an operator key (2222) instead"
                );
            }
            let ecom = build_ecom(&config).await?;
            let input = NewEndpoint {
                url,
                events,
                description,
            };
            let endpoint = ecom
                .webhooks
                .create(&EndpointOwner::Platform, input)
                .await?;
            println!("endpoint: {}", endpoint.id);
            println!("secret: {}", endpoint.current_secret().unwrap_or_default());
            Ok(())
        }
        Command::Catalogue {
            action: CatalogueAction::Rebuild,
        } => {
            if config.mongo_uri.is_none() {
                anyhow::bail!(
                    "catalogue rebuild needs the servers' store (set ECOM_MONGO_URI and ECOM_SECRET)"
                );
            }
            let report = build_ecom(&config).await?.catalogue.rebuild().await?;
            println!(
                "catalogue rebuilt: {} published products checked, {} corrected",
                report.checked, report.corrected
            );
            Ok(())
        }
        Command::Gate {
            action: GateAction::Rebuild { product },
        } => {
            let product = product
                .map(|p| {
                    ProductId::parse(&p)
                        .map_err(|_| anyhow::anyhow!("--product: not a product id: {p:?}"))
                })
                .transpose()?;
            if config.mongo_uri.is_none() || config.redis_url.is_none() {
                anyhow::bail!(
                    "gate rebuild needs the servers' store and gate (set ECOM_MONGO_URI, \
                     ECOM_SECRET and ECOM_REDIS_URL, and ECOM_REDIS_PREFIX if they use one)"
                );
            }
            let ecom = build_ecom(&config).await?;
            match product {
                Some(product) => {
                    let count = ecom.inventory.rebuild_gate_of(&product).await?;
                    println!("gate count of {product}: {count}");
                }
                None => {
                    let report = ecom.inventory.reconcile_gate().await?;
                    println!(
                        "gate reconciled: {} products checked, {} corrected, {} busy",
                        report.checked, report.corrected, report.busy
                    );
                }
            }
            Ok(())
        }
    }
}
