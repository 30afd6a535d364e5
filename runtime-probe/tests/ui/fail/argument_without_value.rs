#[waitgraph::instrument(name)]
fn named() {}

fn main() {
    named();
}
