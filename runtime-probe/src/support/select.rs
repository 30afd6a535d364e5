//! Which receivers the attribute instruments, decided at compile time.
//!
//! `(&&&&&probe::<G, T>(..)).__wg_select()` probes five traits in order of autoref depth
//! (a technique known as autoref-based specialization): the first that applies wins.
//!
//! | trait | applies when `T` is | token |
//! |---|---|---|
//! | [`Select0`] | a supported type for group `G` | `Via<T>` |
//! | [`Select1`] | a known pointer to one (`&`, `&mut`, `Arc`, `Rc`, `Box`, `LazyLock`, once_cell's `Lazy`) | `Via<Target>` |
//! | [`Select2`] | a known pointer to a known pointer to one | `Via<Target>` |
//! | [`Select3`] | a `lazy_static!` static whose type is one | `Via<Target>` |
//! | [`Select4`] | anything else | [`Plain`]: the call as written |
//!
//! Only pointers known to have no method of the instrumented names are looked through,
//! so a wrapper type with its own `lock()` that also derefs to a mutex keeps its own
//! method, as it would without the attribute. (A `lazy_static!` type is a struct the
//! macro generates, with `Deref` and nothing else: it never has such a method.) The instrumented call receives
//! `&RECEIVER`, which deref coercion turns into `&Target` with the lifetime the original
//! method call would have given the guard.

use std::marker::PhantomData;

/// Method groups: which names a type supports.
pub mod group {
    /// `lock`, `try_lock`.
    pub struct Lock;
    /// `read`, `write`, `try_read`, `try_write`, `upgradable_read`.
    pub struct ReadWrite;
    /// Condvar `wait`, `wait_while`, `wait_timeout`, `wait_timeout_while`, `wait_for`,
    /// `wait_until`, `wait_while_for`, `wait_while_until`, `notify_one`, `notify_all`.
    pub struct Condvar;
    /// Barrier `wait()`.
    pub struct Barrier;
    /// `send`.
    pub struct Send;
    /// `recv`, `recv_timeout`.
    pub struct Recv;
    /// `join`.
    pub struct Join;
    /// One-time initialisation: `call_once`, `call_once_force`, `get_or_init`.
    pub struct Once;
    /// `LazyLock::force(&lazy)`, once_cell's `Lazy::force(&lazy)`: the argument, a
    /// reference, is looked through.
    pub struct Force;
    /// A local bound from an acquire, passed by value to a call: handed over as the
    /// original guard if it is the attribute's.
    pub struct Pass;
    /// parking_lot's guard transitions written as path calls: `upgrade`, `try_upgrade`,
    /// `downgrade`, `downgrade_to_upgradable`. Only the attribute's own guards, by value:
    /// never looked for through pointers.
    pub struct Transition;
}

/// Groups whose receivers may be reached through the known pointers.
pub trait ThroughPointers {}

impl ThroughPointers for group::Lock {}
impl ThroughPointers for group::ReadWrite {}
impl ThroughPointers for group::Condvar {}
impl ThroughPointers for group::Barrier {}
impl ThroughPointers for group::Send {}
impl ThroughPointers for group::Recv {}
impl ThroughPointers for group::Join {}
impl ThroughPointers for group::Once {}
impl ThroughPointers for group::Force {}

/// The types each group instruments.
pub trait Supported<G> {}

impl<U: ?Sized> Supported<group::Lock> for std::sync::Mutex<U> {}
// Every lock_api 0.4 lock: parking_lot's (0.11 and 0.12), spin's `lock_api` module, and
// any other crate that builds its locks on lock_api.
impl<R: lock_api::RawMutex, U: ?Sized> Supported<group::Lock> for lock_api::Mutex<R, U> {}
impl<U: ?Sized> Supported<group::ReadWrite> for std::sync::RwLock<U> {}
impl<R: lock_api::RawRwLock, U: ?Sized> Supported<group::ReadWrite> for lock_api::RwLock<R, U> {}
impl Supported<group::Condvar> for std::sync::Condvar {}
impl Supported<group::Condvar> for parking_lot::Condvar {}
impl Supported<group::Barrier> for std::sync::Barrier {}
impl<U> Supported<group::Send> for std::sync::mpsc::Sender<U> {}
impl<U> Supported<group::Send> for std::sync::mpsc::SyncSender<U> {}
impl<U> Supported<group::Recv> for std::sync::mpsc::Receiver<U> {}
impl<U> Supported<group::Join> for std::thread::JoinHandle<U> {}
impl<U> Supported<group::Join> for std::thread::ScopedJoinHandle<'_, U> {}
impl Supported<group::Once> for std::sync::Once {}
impl<U> Supported<group::Once> for std::sync::OnceLock<U> {}
impl<U> Supported<group::Once> for once_cell::sync::OnceCell<U> {}
impl<U, F: FnOnce() -> U> Supported<group::Force> for std::sync::LazyLock<U, F> {}
impl<U, F: FnOnce() -> U> Supported<group::Force> for once_cell::sync::Lazy<U, F> {}

impl<R: lock_api::RawRwLock, T: ?Sized> Supported<group::Transition>
    for super::Guard<lock_api::RwLockWriteGuard<'_, R, T>>
{
}
impl<R: lock_api::RawRwLockUpgrade, T: ?Sized> Supported<group::Transition>
    for super::Guard<lock_api::RwLockUpgradableReadGuard<'_, R, T>>
{
}

/// Pointers looked through: none has a method named like an instrumented one.
pub trait Pointer {
    type Target: ?Sized;
}

impl<U: ?Sized> Pointer for &U {
    type Target = U;
}
impl<U: ?Sized> Pointer for &mut U {
    type Target = U;
}
impl<U: ?Sized> Pointer for std::sync::Arc<U> {
    type Target = U;
}
impl<U: ?Sized> Pointer for std::rc::Rc<U> {
    type Target = U;
}
impl<U: ?Sized> Pointer for Box<U> {
    type Target = U;
}
impl<U, F: FnOnce() -> U> Pointer for std::sync::LazyLock<U, F> {
    type Target = U;
}
impl<U, F: FnOnce() -> U> Pointer for once_cell::sync::Lazy<U, F> {
    type Target = U;
}
impl<U, F: FnOnce() -> U> Pointer for once_cell::unsync::Lazy<U, F> {
    type Target = U;
}

/// The receiver's type `T`, for method group `G`; never holds a value.
pub struct Probe<G, T: ?Sized>(PhantomData<(G, TypeOnly<T>)>);

/// Names a type without owning, borrowing or sending one.
type TypeOnly<T> = fn() -> *const T;

/// Names the receiver's type without evaluating it: `probe(|| &RECEIVER)`; the closure is
/// never called.
#[inline(always)]
pub fn probe<'a, G, T: ?Sized + 'a>(_receiver: impl FnOnce() -> &'a T) -> Probe<G, T> {
    Probe(PhantomData)
}

/// The token of an instrumented call on a `U`.
pub struct Via<U: ?Sized>(pub(crate) PhantomData<TypeOnly<U>>);

/// The token of a call left as written.
pub struct Plain;

/// What the branch not taken "returns".
pub enum Never {}

impl<U: ?Sized> Via<U> {
    #[inline(always)]
    pub fn via(&self) -> bool {
        true
    }

    /// The value of the instrumented branch: the call's value.
    #[inline(always)]
    pub fn instrumented<A>(&self, value: A) -> A {
        value
    }

    /// The value of the branch as written: never taken; its type is the other branch's.
    #[inline(always)]
    pub fn as_written<B, A>(&self, _value: B) -> A {
        unreachable!("an instrumented call is not made as written")
    }
}

/// An instrumented receiver with its call site, for calls with a closure argument: the
/// method called on it (`wait_while`) has the original's name, so the closure is typed by
/// a signature in both branches (see `Plain::receiver`).
pub struct Instrument<'r, U: ?Sized> {
    pub(crate) receiver: &'r U,
    pub(crate) at: &'static super::Receiver,
    pub(crate) owner: super::Owner,
}

impl<U: ?Sized> Via<U> {
    #[inline(always)]
    pub fn receiver<'r>(
        &self,
        receiver: &'r U,
        at: &'static super::Receiver,
        owner: super::Owner,
    ) -> Instrument<'r, U> {
        Instrument {
            receiver,
            at,
            owner,
        }
    }
}

impl Plain {
    #[inline(always)]
    pub fn via(&self) -> bool {
        false
    }

    /// The receiver itself: in the branch never taken, the call on it is the original
    /// method, whose signature types the closure as it would without the attribute.
    #[inline(always)]
    pub fn receiver<'r, T: ?Sized>(
        &self,
        receiver: &'r T,
        _at: &'static super::Receiver,
        _owner: super::Owner,
    ) -> &'r T {
        receiver
    }

    /// Never taken: its type is the other branch's.
    #[inline(always)]
    pub fn instrumented<A, B>(&self, _value: A) -> B {
        unreachable!("a plain call is made as written")
    }

    /// The value of the branch as written: the call's value.
    #[inline(always)]
    pub fn as_written<B>(&self, value: B) -> B {
        value
    }
}

/// The instrumented operations of [`Plain`]: never called, they only let the branch
/// that is not taken type-check for any receiver.
macro_rules! plain_operations {
    ($($name:ident($($arg:ident),*)),* $(,)?) => {
        impl Plain {
            $(
                #[allow(clippy::too_many_arguments)]
                pub fn $name<T: ?Sized, $($arg),*>(
                    &self,
                    _receiver: &T,
                    $(_: $arg,)*
                    _at: &'static super::Receiver,
                    _owner: super::Owner,
                ) -> Never {
                    unreachable!("a plain call is made as written")
                }
            )*
        }
    };
}

plain_operations! {
    lock(), try_lock(), read(), write(), try_read(), try_write(), upgradable_read(),
    wait(A), wait_while(A, B), wait_timeout(A, B), wait_for(A, B), wait_until(A, B),
    wait_timeout_while(A, B, C), wait_while_for(A, B, C), wait_while_until(A, B, C),
    notify_one(), notify_all(), barrier_wait(), send(A), recv(), recv_timeout(A),
    call_once(A), call_once_force(A), get_or_init(A),
}

impl Plain {
    /// A condvar wait's guard argument, as written.
    #[inline(always)]
    pub fn guard_arg<T>(&self, guard: T) -> T {
        guard
    }

    /// `join` takes its receiver by value.
    pub fn join<T>(
        &self,
        _handle: T,
        _at: &'static super::Receiver,
        _owner: super::Owner,
    ) -> Never {
        unreachable!("a plain call is made as written")
    }
}

pub trait Select0 {
    type Token;
    fn __wg_select(&self) -> Self::Token;
}
pub trait Select1 {
    type Token;
    fn __wg_select(&self) -> Self::Token;
}
pub trait Select2 {
    type Token;
    fn __wg_select(&self) -> Self::Token;
}
pub trait Select3 {
    type Token;
    fn __wg_select(&self) -> Self::Token;
}
pub trait Select4 {
    fn __wg_select(&self) -> Plain {
        Plain
    }
}

impl<G, T: ?Sized + Supported<G>> Select0 for &&&&Probe<G, T> {
    type Token = Via<T>;
    #[inline(always)]
    fn __wg_select(&self) -> Via<T> {
        Via(PhantomData)
    }
}

impl<G: ThroughPointers, T: ?Sized + Pointer> Select1 for &&&Probe<G, T>
where
    T::Target: Supported<G>,
{
    type Token = Via<T::Target>;
    #[inline(always)]
    fn __wg_select(&self) -> Self::Token {
        Via(PhantomData)
    }
}

impl<G: ThroughPointers, T: ?Sized + Pointer> Select2 for &&Probe<G, T>
where
    T::Target: Pointer,
    <T::Target as Pointer>::Target: Supported<G>,
{
    type Token = Via<<T::Target as Pointer>::Target>;
    #[inline(always)]
    fn __wg_select(&self) -> Self::Token {
        Via(PhantomData)
    }
}

impl<G: ThroughPointers, T: lazy_static::LazyStatic + std::ops::Deref> Select3 for &Probe<G, T>
where
    T::Target: Supported<G>,
{
    type Token = Via<T::Target>;
    #[inline(always)]
    fn __wg_select(&self) -> Self::Token {
        Via(PhantomData)
    }
}

impl<G, T: ?Sized> Select4 for Probe<G, T> {}

/// The guard transitions of [`Plain`]: never called.
macro_rules! plain_transitions {
    ($($name:ident($($arg:ident),*)),* $(,)?) => {
        impl Plain {
            $(
                pub fn $name<T, $($arg),*>(&self, _guard: T, $(_: $arg),*) -> Never {
                    unreachable!("a plain call is made as written")
                }
            )*
        }
    };
}

plain_transitions! {
    upgrade(), try_upgrade(), downgrade(), downgrade_to_upgradable(),
}

impl Plain {
    /// A lazy value's `force`: never called.
    pub fn force<T>(&self, _lazy: T, _at: &'static super::Receiver) -> Never {
        unreachable!("a plain call is made as written")
    }
}
