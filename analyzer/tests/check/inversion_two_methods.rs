// Two methods take the same two locks in opposite orders.
use std::sync::Mutex;

pub struct Bank {
    ledger: Mutex<Vec<i64>>,
    audit: Mutex<Vec<String>>,
}

impl Bank {
    pub fn deposit(&self, amount: i64) {
        let mut ledger = self.ledger.lock().unwrap();
        let mut audit = self.audit.lock().unwrap(); //~ ERROR lock-order-inversion
        ledger.push(amount);
        audit.push(format!("deposit {amount}"));
    }

    pub fn report(&self) -> String {
        let audit = self.audit.lock().unwrap();
        let ledger = self.ledger.lock().unwrap(); //~ ERROR lock-order-inversion
        format!("{} entries, {} audited", ledger.len(), audit.len())
    }
}
