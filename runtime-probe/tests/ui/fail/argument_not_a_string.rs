#[waitgraph::instrument(job = workers)]
fn run() {}

fn main() {
    run();
}
