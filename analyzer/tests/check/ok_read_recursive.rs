// `read_recursive` never waits behind a queued writer.
use parking_lot::RwLock;

pub struct Schema {
    columns: RwLock<Vec<String>>,
}

impl Schema {
    pub fn describe(&self) -> String {
        let columns = self.columns.read_recursive();
        let again = self.columns.read_recursive();
        format!("{} = {}", columns.len(), again.len())
    }

    pub fn add(&self, column: String) {
        self.columns.write().push(column);
    }
}
