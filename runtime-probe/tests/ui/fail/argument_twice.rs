#[waitgraph::instrument(name = "first", name = "second")]
fn twice() {}

fn main() {
    twice();
}
