#[waitgraph::instrument("gil")]
fn take() {}

fn main() {
    take();
}
