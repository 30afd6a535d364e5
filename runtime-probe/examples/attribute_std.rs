//! The attribute on code that uses only `std::sync`: two threads take two std mutexes in
//! opposite orders and deadlock. Nothing in the program changed but the attribute on the
//! two functions; the watchdog names the cycle, the locks and the functions, writes the
//! report and exits with status 3.
//!
//! ```sh
//! cargo run --release -p waitgraph --example attribute_std -- --report target/waitgraph/attribute_std.json
//! ```

use std::sync::{Arc, Barrier, Mutex};
use waitgraph::Watchdog;

struct Bank {
    accounts: Mutex<u64>,
    ledger: Mutex<Vec<u64>>,
    both_hold_one: Barrier,
}

impl Bank {
    #[waitgraph::instrument]
    fn transfer(&self) {
        let mut accounts = self.accounts.lock().unwrap();
        self.both_hold_one.wait();
        let mut ledger = self.ledger.lock().unwrap(); // waitgraph: allow(lock-order-inversion) the example's deadlock, on purpose
        *accounts -= 1;
        ledger.push(1);
    }

    #[waitgraph::instrument]
    fn audit(&self) {
        let ledger = self.ledger.lock().unwrap();
        self.both_hold_one.wait();
        let accounts = self.accounts.lock().unwrap();
        println!("{} entries, balance {}", ledger.len(), *accounts);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut report = "target/waitgraph/attribute_std.json".to_string();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--report", Some(path)) => report = path,
            _ => {
                eprintln!("usage: attribute_std [--report FILE]");
                std::process::exit(2);
            }
        }
    }
    let _watchdog = Watchdog::builder()
        .report_file(&report)
        .exit_on_deadlock(3)
        .start();

    let bank = Arc::new(Bank {
        accounts: Mutex::new(100),
        ledger: Mutex::new(Vec::new()),
        both_hold_one: Barrier::new(2),
    });
    let for_transfer = bank.clone();
    let transfer = std::thread::Builder::new()
        .name("transfer".into())
        .spawn(move || for_transfer.transfer())
        .expect("spawn");
    let audit = std::thread::Builder::new()
        .name("audit".into())
        .spawn(move || bank.audit())
        .expect("spawn");
    transfer.join().expect("transfer");
    audit.join().expect("audit");
    println!("no deadlock (the watchdog would have exited with status 3)");
}
