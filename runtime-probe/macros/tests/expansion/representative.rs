#[waitgraph::instrument(name = "Pool::shrink", waits_for = "workers-exit")]
fn shrink(&self, exit: &Barrier) -> Result<usize, Error> {
    let mut state = self.state.lock().unwrap();
    while state.busy > 0 {
        state = self.changed.wait(state).unwrap();
    }
    self.queue()?.send(Job::Exit)?;
    Ok(state.workers)
}
