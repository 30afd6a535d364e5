#[waitgraph::instrument(serves = " ")]
fn serve() {}

fn main() {
    serve();
}
