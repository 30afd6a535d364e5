// Two reads of a lock nothing writes through: no writer can queue between them.
use std::sync::RwLock;

pub struct Frozen {
    table: RwLock<Vec<u32>>,
}

impl Frozen {
    pub fn new(table: Vec<u32>) -> Frozen {
        Frozen {
            table: RwLock::new(table),
        }
    }

    pub fn sum_and_len(&self) -> (u32, usize) {
        let table = self.table.read().unwrap();
        let len = self.table.read().unwrap().len();
        (table.iter().sum(), len)
    }
}
