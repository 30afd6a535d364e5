//! Two named threads take two named locks in opposite orders and deadlock; the watchdog
//! writes the report and exits the process with status 3.
//!
//! ```sh
//! cargo run --release -p waitgraph --example ab_ba -- --report target/waitgraph/ab_ba.json
//! ```

use std::sync::Barrier;
use waitgraph::sync::Mutex;
use waitgraph::Watchdog;

static ACCOUNTS: Mutex<u64> = Mutex::named("accounts", 100);
static LEDGER: Mutex<Vec<u64>> = Mutex::named("ledger", Vec::new());

#[inline(never)]
fn transfer(both_hold_one: &Barrier) {
    let mut accounts = ACCOUNTS.lock();
    both_hold_one.wait();
    let mut ledger = LEDGER.lock(); // waitgraph: allow(lock-order-inversion) the example's deadlock, on purpose
    *accounts -= 1;
    ledger.push(1);
}

#[inline(never)]
fn audit(both_hold_one: &Barrier) {
    let ledger = LEDGER.lock();
    both_hold_one.wait();
    let accounts = ACCOUNTS.lock();
    println!("{} entries, balance {}", ledger.len(), *accounts);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut report = "target/waitgraph/ab_ba.json".to_string();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--report", Some(path)) => report = path,
            _ => {
                eprintln!("usage: ab_ba [--report FILE]");
                std::process::exit(2);
            }
        }
    }
    let _watchdog = Watchdog::builder()
        .report_file(&report)
        .exit_on_deadlock(3)
        .start();

    let both_hold_one = std::sync::Arc::new(Barrier::new(2));
    let for_transfer = both_hold_one.clone();
    let transfer = std::thread::Builder::new()
        .name("transfer".into())
        .spawn(move || transfer(&for_transfer))
        .expect("spawn");
    let audit = std::thread::Builder::new()
        .name("audit".into())
        .spawn(move || audit(&both_hold_one))
        .expect("spawn");
    transfer.join().expect("transfer");
    audit.join().expect("audit");
    println!("no deadlock (the watchdog would have exited with status 3)");
}
