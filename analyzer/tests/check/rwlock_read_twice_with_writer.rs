// A second read while the first is held waits behind a queued writer (std and
// parking_lot both prefer writers), and the writer waits for the first read.
use parking_lot::RwLock;

pub struct Routes {
    table: RwLock<Vec<String>>,
}

impl Routes {
    pub fn describe(&self) -> String {
        let table = self.table.read();
        let count = self.count();
        format!("{count} routes, first {:?}", table.first())
    }

    fn count(&self) -> usize {
        self.table.read().len() //~ WARN double-lock
    }

    pub fn add(&self, route: String) {
        self.table.write().push(route);
    }
}
