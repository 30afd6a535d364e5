//! Signatures the attribute must leave working: generics and `where` clauses, `impl
//! Trait` in and out, early `return`, `?`, recursion, methods with every receiver,
//! associated and trait default functions, `unsafe` and `extern` functions, lifetimes,
//! inner attributes, nested items, closures, diverging functions.

use std::fmt::Debug;
use std::sync::{Arc, Mutex, RwLock};

#[waitgraph::instrument]
fn generic<T, U>(items: &Mutex<Vec<T>>, extra: U) -> usize
where
    T: Clone + Debug,
    U: Into<T>,
{
    let mut items = items.lock().unwrap();
    items.push(extra.into());
    items.len()
}

#[waitgraph::instrument]
fn returns_impl(values: &RwLock<Vec<u32>>) -> impl Iterator<Item = u32> {
    values.read().unwrap().clone().into_iter()
}

#[waitgraph::instrument]
fn takes_impl(lock: &Mutex<u32>, add: impl Fn(u32) -> u32) -> u32 {
    let mut guard = lock.lock().unwrap();
    *guard = add(*guard);
    *guard
}

#[waitgraph::instrument]
fn early(lock: &Mutex<u32>, input: &str) -> Result<u32, std::num::ParseIntError> {
    let guard = lock.lock().unwrap();
    if *guard > 10 {
        return Ok(*guard);
    }
    let parsed: u32 = input.parse()?;
    Ok(*guard + parsed)
}

#[waitgraph::instrument]
fn recursive(lock: &Mutex<u32>, depth: u32) -> u32 {
    if depth == 0 {
        return *lock.lock().unwrap();
    }
    recursive(lock, depth - 1) + 1
}

#[waitgraph::instrument]
fn with_lifetimes<'a, 'b: 'a>(lock: &'a Mutex<&'b str>) -> &'b str {
    *lock.lock().unwrap()
}

#[waitgraph::instrument]
#[allow(clippy::needless_return)]
fn inner_attributes(lock: &Mutex<u32>) -> u32 {
    #![allow(unused_variables)]
    let unused = 1;
    return *lock.lock().unwrap();
}

#[waitgraph::instrument]
fn nested_items(lock: &Mutex<u32>) -> u32 {
    // A nested function is not instrumented by the outer attribute.
    fn helper(lock: &Mutex<u32>) -> std::sync::MutexGuard<'_, u32> {
        lock.lock().unwrap()
    }
    let value = *helper(lock);
    let closure = |lock: &Mutex<u32>| *lock.lock().unwrap();
    value + closure(lock)
}

#[waitgraph::instrument]
unsafe fn unsafe_function(lock: *const Mutex<u32>) -> u32 {
    *(*lock).lock().unwrap()
}

#[waitgraph::instrument]
extern "C" fn extern_function() -> u32 {
    7
}

#[waitgraph::instrument]
fn diverges(lock: &Mutex<u32>) -> ! {
    let _guard = lock.lock().unwrap();
    panic!("never returns")
}

struct Shard {
    gil: Arc<Mutex<u32>>,
    spec: parking_lot::RwLock<String>,
}

impl Shard {
    #[waitgraph::instrument]
    fn new() -> Shard {
        Shard {
            gil: Arc::new(Mutex::new(0)),
            spec: parking_lot::RwLock::new(String::new()),
        }
    }

    #[waitgraph::instrument]
    fn by_ref(&self) -> u32 {
        *self.gil.lock().unwrap()
    }

    #[waitgraph::instrument]
    fn by_mut(&mut self) -> usize {
        self.spec.write().push('x');
        self.spec.read().len()
    }

    #[waitgraph::instrument]
    fn by_value(self) -> u32 {
        *self.gil.lock().unwrap()
    }

    #[waitgraph::instrument]
    fn by_arc(self: Arc<Self>) -> u32 {
        *self.gil.lock().unwrap()
    }
}

trait Serve {
    fn lock_count(&self) -> &Mutex<u32>;

    #[waitgraph::instrument]
    fn serve(&self) -> u32 {
        *self.lock_count().lock().unwrap() + 1
    }
}

impl Serve for Shard {
    fn lock_count(&self) -> &Mutex<u32> {
        &self.gil
    }
}

fn main() {
    let items = Mutex::new(vec![1u64]);
    assert_eq!(generic(&items, 2u32), 2);
    assert_eq!(returns_impl(&RwLock::new(vec![1, 2])).sum::<u32>(), 3);
    let lock = Mutex::new(1);
    assert_eq!(takes_impl(&lock, |v| v + 1), 2);
    assert_eq!(early(&lock, "3").unwrap(), 5);
    assert_eq!(recursive(&lock, 3), 5);
    assert_eq!(with_lifetimes(&Mutex::new("text")), "text");
    assert_eq!(inner_attributes(&lock), 2);
    assert_eq!(nested_items(&lock), 4);
    assert_eq!(unsafe { unsafe_function(&lock) }, 2);
    assert_eq!(extern_function(), 7);
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(|| diverges(&Mutex::new(0)));
    let _ = std::panic::take_hook();
    assert!(outcome.is_err());
    let mut shard = Shard::new();
    assert_eq!(shard.by_ref(), 0);
    assert_eq!(shard.by_mut(), 1);
    assert_eq!(shard.serve(), 1);
    assert_eq!(Arc::new(Shard::new()).by_arc(), 0);
    assert_eq!(shard.by_value(), 0);
}
