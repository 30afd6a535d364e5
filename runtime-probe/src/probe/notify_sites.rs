//! Where instrumented code notifies condvars, the whole program at once: each function
//! under `#[waitgraph::instrument]` whose body (closures included) calls `notify_one` or
//! `notify_all` adds its `(module, receiver)` pairs to [`NOTIFY_SITES`] at link time, so
//! the list holds functions that have not run yet too.
//!
//! It tells a std or parking_lot condvar nobody has notified *yet* (an idle pool's workers
//! before the first job: some function notifies a condvar like it) from one nothing in
//! the instrumented code can notify (a missing notify: the hang is silent otherwise).
//!
//! | a notify site `(module, receiver)` may reach a condvar named `class` when | example |
//! |---|---|
//! | the receiver's last name is the condvar's, in the same crate, or | `self.cv`, `inner.cv` for `app::pool::Pool::cv` |
//! | either last name is positional (a tuple field), in the same module | `pair.1` in `app` for `app::main::cvar` |
//!
//! Matching is loose on purpose: a miss here is a stall warning about a correct program.

/// One slice per instrumented function that notifies something: `(module_path!(),
/// receiver as written)`.
#[linkme::distributed_slice]
pub static NOTIFY_SITES: [&'static [(&'static str, &'static str)]];

/// Whether some instrumented function anywhere in the program notifies a condvar that
/// may be the one reports name `class` (see the table above). O(sites).
pub fn may_be_notified(class: &str) -> bool {
    sites_may_notify(NOTIFY_SITES.iter().flat_map(|sites| sites.iter()), class)
}

fn sites_may_notify<'a>(
    mut sites: impl Iterator<Item = &'a (&'static str, &'static str)>,
    class: &str,
) -> bool {
    use crate::model::last_name;
    let crate_of = |path: &str| path.split("::").next().unwrap_or(path).to_owned();
    let positional = |name: &str| name.bytes().all(|b| b.is_ascii_digit());
    let (krate, name) = (crate_of(class), last_name(class));
    let in_module = |module: &str| {
        class
            .strip_prefix(module)
            .is_some_and(|rest| rest.starts_with("::"))
    };
    sites.any(|&(module, receiver)| {
        let notified = last_name(receiver);
        (notified == name && crate_of(module) == krate)
            || ((positional(notified) || positional(name)) && in_module(module))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_reaches_condvars_of_its_crate_by_last_name_or_position() {
        let sites = [("app::pool", "self.cv"), ("app::main", "pair.1")];
        let reaches = |class: &str| sites_may_notify(sites[..1].iter(), class);
        assert!(reaches("app::pool::Pool::cv"));
        assert!(reaches("app::other::run::inner.cv"));
        assert!(!reaches("app::pool::Pool::emptied"));
        assert!(!reaches("lib::pool::Pool::cv"));
        let positional = |class: &str| sites_may_notify(sites[1..].iter(), class);
        assert!(positional("app::main::run::cvar"));
        assert!(!positional("app::pool::run::cvar"), "another module");
        assert!(!positional("other::main::cvar"));
        assert!(sites_may_notify(
            [("app::worker", "cvar")].iter(),
            "app::worker::wait::state.1"
        ));
        assert!(!sites_may_notify([].iter(), "app::main::cvar"));
    }
}
