#[waitgraph::instrument]
async fn fetch() -> u32 {
    42
}

fn main() {
    let _ = fetch();
}
