trait Shard {
    #[waitgraph::instrument]
    fn serve(&self);
}

fn main() {}
