// The lock is taken again two calls down, through `self`.
use std::sync::Mutex;

pub struct Account {
    balance: Mutex<i64>,
}

impl Account {
    pub fn withdraw(&self, amount: i64) -> bool {
        let mut balance = self.balance.lock().unwrap();
        if *balance < amount {
            self.log_refusal(amount);
            return false;
        }
        *balance -= amount;
        true
    }

    fn log_refusal(&self, amount: i64) {
        let current = self.current();
        eprintln!("refused {amount}: balance {current}");
    }

    fn current(&self) -> i64 {
        *self.balance.lock().unwrap() //~ ERROR double-lock
    }
}
