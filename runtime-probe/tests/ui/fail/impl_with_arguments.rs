struct Pool;

#[waitgraph::instrument(serves = "workers")]
impl Pool {
    fn run(&self) {}
}

fn main() {
    Pool.run();
}
