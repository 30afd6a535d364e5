#[waitgraph::instrument(acquire = "gil")]
fn take() {}

fn main() {
    take();
}
