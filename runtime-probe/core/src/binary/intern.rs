//! Strings read from traces, kept once per process: a site's file and function are then
//! `'static` and every event naming them copies two words instead of allocating. The
//! table is bounded ([`BUDGET`] bytes); past it, strings are copied per use instead.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Mutex;

/// Bytes of distinct strings kept for the life of the process.
pub const BUDGET: usize = 64 << 20;

struct Table {
    strings: HashSet<&'static str>,
    bytes: usize,
}

static TABLE: Mutex<Option<Table>> = Mutex::new(None);

/// `text`, as a `'static` string when it is (or can be) kept.
pub fn intern(text: &str) -> Cow<'static, str> {
    let mut table = TABLE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let table = table.get_or_insert_with(|| Table {
        strings: HashSet::new(),
        bytes: 0,
    });
    if let Some(&kept) = table.strings.get(text) {
        return Cow::Borrowed(kept);
    }
    if table.bytes + text.len() > BUDGET {
        return Cow::Owned(text.to_owned());
    }
    let kept: &'static str = Box::leak(text.to_owned().into_boxed_str());
    table.bytes += kept.len();
    table.strings.insert(kept);
    Cow::Borrowed(kept)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_string_is_kept_once() {
        let a = super::intern("src/pool.rs");
        let b = super::intern(&String::from("src/pool.rs"));
        assert!(std::ptr::eq(a.as_ptr(), b.as_ptr()));
    }
}
