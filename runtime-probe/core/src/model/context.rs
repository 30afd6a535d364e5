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
}

impl Context {
    pub const fn new(name: &'static str, file: &'static str, line: u32) -> Context {
        Context {
            name: Cow::Borrowed(name),
            file,
            line,
        }
    }
}
