// Every path takes `ledger` before `audit`: no cycle.
use std::sync::Mutex;

pub struct Bank {
    ledger: Mutex<Vec<i64>>,
    audit: Mutex<Vec<String>>,
}

impl Bank {
    pub fn deposit(&self, amount: i64) {
        let mut ledger = self.ledger.lock().unwrap();
        let mut audit = self.audit.lock().unwrap();
        ledger.push(amount);
        audit.push(format!("deposit {amount}"));
    }

    pub fn report(&self) -> String {
        let ledger = self.ledger.lock().unwrap();
        let audit = self.audit.lock().unwrap();
        format!("{} entries, {} audited", ledger.len(), audit.len())
    }

    pub fn audit_only(&self) -> usize {
        self.audit.lock().unwrap().len()
    }
}
