//! `miroir rebalance`: asks for a round (or a full repair) and follows the rebalancer's
//! progress with a progress bar until nothing is left to move or repair.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use crate::admin::client::Client;
use crate::admin::views::render_rebalance;

const PATH: &str = "/_miroir/admin/rebalance";

pub fn follow(client: &Client, repair: bool, no_wait: bool) -> anyhow::Result<()> {
    let mut progress = client.send("POST", PATH, Some(json!({"repair": repair})))?;
    if no_wait {
        print!("{}", render_rebalance(&progress));
        return Ok(());
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} shards in sync  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    loop {
        let done = progress["shardsDone"].as_array().map_or(0, Vec::len) as u64;
        bar.set_length(progress["shardsTotal"].as_u64().unwrap_or(0).max(done));
        bar.set_position(done);
        bar.set_message(message(&progress));
        let settled = progress["settled"].as_bool().unwrap_or(false);
        if settled {
            bar.finish_with_message(message(&progress));
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
        progress = client.get(PATH)?;
    }
    print!("{}", render_rebalance(&progress));
    Ok(())
}

fn message(p: &Value) -> String {
    let waiting: Vec<&str> = p["waiting"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    format!(
        "{}  copied {}  deleted {}  {:.0} docs/s{}",
        p["phase"].as_str().filter(|s| !s.is_empty()).unwrap_or("idle"),
        p["documentsCopied"],
        p["documentsDeleted"],
        p["rate"].as_f64().unwrap_or(0.0),
        if waiting.is_empty() { String::new() } else { format!("  waiting: {}", waiting.join(", ")) }
    )
}
