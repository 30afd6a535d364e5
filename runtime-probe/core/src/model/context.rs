use std::borrow::Cow;

/// A named place in the program: what a thread is doing, by the function (or span) it
/// is in, so reports can say "in `Pool::shrink`" where no backtrace is available.
///
/// Plain data: `waitgraph::context::enter` makes it the current thread's innermost
/// context until its guard drops.
#[derive(Debug)]
pub struct Context {
    pub name: Cow<'static, str>,
    pub file: &'static str,
    pub line: u32,
    /// The condvars the function's body notifies, as `(module, receiver)`
    /// (`("app::queue", "self.changed")` for `self.changed.notify_all()`): a thread
    /// inside it that has not notified yet is who a waiter on such a condvar waits for.
    pub notifies: &'static [(&'static str, &'static str)],
}

impl Context {
    pub const fn new(name: &'static str, file: &'static str, line: u32) -> Context {
        Context::notifying(name, file, line, &[])
    }

    /// A function that notifies the condvars named in `notifies`.
    pub const fn notifying(
        name: &'static str,
        file: &'static str,
        line: u32,
        notifies: &'static [(&'static str, &'static str)],
    ) -> Context {
        Context {
            name: Cow::Borrowed(name),
            file,
            line,
            notifies,
        }
    }

    /// Whether the function notifies a condvar whose class (what reports name it by,
    /// `module::...::name`) is `class`.
    pub fn may_notify(&self, class: &str) -> bool {
        let name = last_name(class);
        self.notifies.iter().any(|&(module, notified)| {
            last_name(notified) == name
                && class
                    .strip_prefix(module)
                    .is_some_and(|rest| rest.starts_with("::"))
        })
    }
}

/// The last name in a receiver's text or a class: `changed` in `self.changed` and in
/// `app::Queue::changed`, `1` in `pair.1`.
pub fn last_name(text: &str) -> &str {
    text.rsplit(['.', ':'])
        .map(|part| part.trim_matches(['(', ')', '*', '&', ' ']))
        .find(|part| !part.is_empty())
        .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notifying_function_matches_condvars_of_its_module_by_last_name() {
        static NOTIFIES: [(&str, &str); 2] =
            [("app::queue", "self.changed"), ("app::queue", "pair.1")];
        let context = Context::notifying("app::queue::push", "src/queue.rs", 1, &NOTIFIES);
        assert!(context.may_notify("app::queue::Queue::changed"));
        assert!(context.may_notify("app::queue::wait::pair.1"));
        assert!(context.may_notify("app::queue::changed"));
        assert!(!context.may_notify("app::queue::Queue::emptied"));
        assert!(!context.may_notify("app::other::Queue::changed"));
        assert!(!context.may_notify("app::queueing::changed"));
        assert_eq!(last_name("(*state).cv"), "cv");
        assert_eq!(last_name("CHANGED"), "CHANGED");
    }
}
