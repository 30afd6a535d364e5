#[waitgraph::instrument(acquires = "gil", waits_for = "workers-exit")]
fn both() {}

fn main() {
    both();
}
