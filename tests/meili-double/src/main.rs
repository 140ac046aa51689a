//! `meili-double`: a test double of Meilisearch 1.50 (not Meilisearch).
use clap::Parser;

#[tokio::main]
async fn main() {
    let opt = meili_double::cli::Opt::parse();
    if let Err(e) = meili_double::run(opt).await {
        eprintln!("meili-double: {e}");
        std::process::exit(1);
    }
}
