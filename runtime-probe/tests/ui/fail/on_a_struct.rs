#[waitgraph::instrument]
struct Pool {
    workers: usize,
}

fn main() {
    let _ = Pool { workers: 1 }.workers;
}
