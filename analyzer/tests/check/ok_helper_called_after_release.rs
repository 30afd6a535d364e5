// The helper that takes the lock again is called after the guard's block ends.
use std::sync::Mutex;

pub struct Account {
    balance: Mutex<i64>,
}

impl Account {
    pub fn withdraw(&self, amount: i64) -> i64 {
        {
            let mut balance = self.balance.lock().unwrap();
            *balance -= amount;
        }
        self.current()
    }

    fn current(&self) -> i64 {
        *self.balance.lock().unwrap()
    }
}
