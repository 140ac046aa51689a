//! Batch splitting throughput (MB/s of client payload), JSON, NDJSON and CSV, on real
//! PyPI rows when `pypi.tsv` is present, else on synthetic rows of the same shape.
//! Run: `cargo bench -p miroir-core --bench split`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use miroir_core::batch::{split, PayloadFormat, PrimaryKeyInput};
use miroir_core::placement::IndexPlacement;
use miroir_core::shard_map::{Node, NodeState, ShardMap};
use serde_json::{json, Value};

fn rows(limit: usize) -> Vec<Value> {
    let path = std::env::var("MIROIR_PYPI_TSV").unwrap_or_else(|_| "/work/.library/env/packages/pypi.tsv".into());
    if let Ok(text) = std::fs::read_to_string(path) {
        return text
            .lines()
            .skip(1)
            .take(limit)
            .enumerate()
            .map(|(i, l)| {
                let f: Vec<&str> = l.split('\t').collect();
                json!({"id": i, "name": f.first(), "version": f.get(1), "month": f.get(2), "summary": f.get(4)})
            })
            .collect();
    }
    (0..limit)
        .map(|i| json!({"id": i, "name": format!("package-{i}"), "version": "1.0.0", "month": "2024-01", "summary": "A library that does something useful for many people"}))
        .collect()
}

fn bench(c: &mut Criterion) {
    let docs = rows(60_000);
    let map = ShardMap {
        version: 1,
        replication_factor: 2,
        default_shards: 16,
        nodes: (0..3).map(|i| Node { id: format!("node{i}"), cluster: format!("c{i}"), group: 0, state: NodeState::Up }).collect(),
        indexes: Default::default(),
        control_cluster: "control".into(),
        timeout_ms: 1000,
        payload_limit_bytes: u64::MAX,
        node_key: None,
    };
    let placement = IndexPlacement::compute(&map, "packages");
    let json_body = Value::from(docs.clone()).to_string().into_bytes();
    let ndjson_body: Vec<u8> = docs.iter().flat_map(|d| format!("{d}\n").into_bytes()).collect();
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(["id:number", "name", "version", "month", "summary"]).unwrap();
    for d in &docs {
        let s = |k: &str| d[k].as_str().unwrap_or("").to_string();
        csv.write_record([d["id"].to_string(), s("name"), s("version"), s("month"), s("summary")]).unwrap();
    }
    let csv_body = csv.into_inner().unwrap();

    let mut group = c.benchmark_group("split");
    group.sample_size(20);
    let key = PrimaryKeyInput { index: Some("id"), requested: None };
    for (name, body, format) in [
        ("json", &json_body, PayloadFormat::Json),
        ("ndjson", &ndjson_body, PayloadFormat::Ndjson),
        ("csv", &csv_body, PayloadFormat::Csv { delimiter: b',' }),
    ] {
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new(name, body.len()), body, |b, body| {
            b.iter(|| split(body, format, key, &placement, 3).expect("valid batch"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
