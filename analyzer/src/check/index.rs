//! What the checker knows about a crate before it reads any function body: which struct
//! fields and statics are locks (and of what kind), which fields hold other structs, and
//! every function with its owner type, parameters and return type.
//!
//! Built in one pass over every file (`O(items)`); function bodies are walked later by
//! [`super::guard_lifetimes`], which asks this index what a receiver is.

use std::collections::HashMap;
use syn::{GenericArgument, PathArguments, Type};

/// How a lock behaves when the same thread takes it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LockKind {
    /// `Mutex`, `FairMutex`, spin locks: a second lock by the holder never returns.
    Mutex,
    /// `RwLock`: read then write (or write then anything) never returns; read then read
    /// waits behind a queued writer.
    RwLock,
    /// `ReentrantMutex`: the holder may take it again.
    Reentrant,
}

/// What a field, static, parameter or local is, as far as the checker cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    Lock(LockKind),
    /// A `Vec`, array, slice or `VecDeque` of locks: each element its own lock.
    Locks(LockKind),
    Condvar,
    /// A barrier (std's, parking_lot's, waitgraph's): `wait()` blocks until the others come.
    Barrier,
    /// waitgraph's `Executor`.
    Executor,
    /// waitgraph's `Job`.
    Job,
    /// A struct of this crate (by name), reached through `Arc`, `Box`, `&`...
    Struct(String),
    Other,
}

/// One function or method of the crate.
#[derive(Clone, Debug)]
pub struct FnItem {
    /// `module::Type::name` or `module::name`.
    pub path: String,
    pub name: String,
    /// The type of `impl Type` (or `impl Trait for Type`) the method is in.
    pub owner: Option<String>,
    /// Parameters in order (`self` first for methods), with their shapes.
    pub params: Vec<(String, Shape)>,
    /// The attribute's roles (`serves`, `job`, `schedules`, `waits_for`) with their
    /// executor names, from `#[waitgraph::instrument(..)]`.
    pub roles: Vec<(String, String)>,
    /// `main`, or a `#[test]`: runs once per process.
    pub runs_once: bool,
    /// Whether the return type names a guard (`MutexGuard`, `RwLockWriteGuard`...):
    /// such functions are wrappers that hand a lock to their caller.
    pub returns_guard: bool,
    pub module: String,
    pub file: usize,
    /// The crate target (root) whose module tree holds it, and that target's package.
    pub unit: usize,
    pub package: usize,
}

/// Where a call is made: calls resolve to the caller's target first, then its package
/// (a test calling its library); never to another package's function of the same name.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub unit: usize,
    pub package: usize,
}

impl Caller {
    /// Keeps the candidates nearest the caller: its target's, else its package's.
    fn nearest(self, fns: &[FnItem], candidates: impl Iterator<Item = usize>) -> Vec<usize> {
        let candidates: Vec<usize> = candidates
            .filter(|&i| fns[i].package == self.package)
            .collect();
        let same_unit: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| fns[i].unit == self.unit)
            .collect();
        if same_unit.is_empty() {
            candidates
        } else {
            same_unit
        }
    }
}

/// The crate's items, by name.
#[derive(Default, Debug)]
pub struct Index {
    /// Struct name → field name → shape.
    pub structs: HashMap<String, HashMap<String, Shape>>,
    /// Static name → (module, shape), statics of lock shape or holding a struct.
    pub statics: HashMap<String, Vec<(String, Shape)>>,
    pub fns: Vec<FnItem>,
    /// (owner type, method name) → indices in `fns`.
    pub methods: HashMap<(String, String), Vec<usize>>,
    /// Free function name → indices in `fns`.
    pub free: HashMap<String, Vec<usize>>,
    /// Method name → indices in `fns`, whatever the owner.
    pub methods_by_name: HashMap<String, Vec<usize>>,
    /// The names of the methods the crate's traits declare.
    pub trait_methods: std::collections::HashSet<String>,
}

impl Index {
    pub fn add_fn(&mut self, item: FnItem) {
        let number = self.fns.len();
        match &item.owner {
            Some(owner) => {
                self.methods
                    .entry((owner.clone(), item.name.clone()))
                    .or_default()
                    .push(number);
                self.methods_by_name
                    .entry(item.name.clone())
                    .or_default()
                    .push(number);
            }
            None => self.free.entry(item.name.clone()).or_default().push(number),
        }
        self.fns.push(item);
    }

    /// A method `name` of type `owner`, when exactly one is known.
    pub fn method(&self, caller: Caller, owner: &str, name: &str) -> Option<usize> {
        let found = caller.nearest(
            &self.fns,
            self.methods
                .get(&(owner.to_string(), name.to_string()))?
                .iter()
                .copied(),
        );
        (found.len() == 1).then(|| found[0])
    }

    /// A call of a crate trait's method on a value whose type the checker does not know
    /// (a `dyn Trait`, a generic): the implementation, when the package has exactly one.
    pub fn trait_method(&self, caller: Caller, name: &str) -> Option<usize> {
        if !self.trait_methods.contains(name) {
            return None;
        }
        let found = caller.nearest(&self.fns, self.methods_by_name.get(name)?.iter().copied());
        (found.len() == 1).then(|| found[0])
    }

    /// A free function `name`: the one in `module` if there is one, else the only one
    /// in the crate.
    pub fn free_fn(&self, caller: Caller, module: &str, name: &str) -> Option<usize> {
        let candidates = caller.nearest(&self.fns, self.free.get(name)?.iter().copied());
        if let Some(&local) = candidates.iter().find(|&&i| self.fns[i].module == module) {
            return Some(local);
        }
        (candidates.len() == 1).then(|| candidates[0])
    }

    /// A free function named by a path `qualifier::name` written in `module`:
    /// `crate::a::f`, `super::f`, `self::b::f`, `b::f` (a child module), or any module
    /// path ending in the qualifier; else the only function of that name.
    pub fn qualified_fn(
        &self,
        caller: Caller,
        module: &str,
        qualifier: &[String],
        name: &str,
    ) -> Option<usize> {
        let mut base: Vec<&str> = if module.is_empty() {
            Vec::new()
        } else {
            module.split("::").collect()
        };
        let mut rest = qualifier;
        let mut absolute = false;
        while let Some((first, tail)) = rest.split_first() {
            match first.as_str() {
                "crate" => {
                    base.clear();
                    absolute = true;
                }
                "super" => {
                    base.pop();
                    absolute = true;
                }
                "self" => absolute = true,
                _ => break,
            }
            rest = tail;
        }
        let mut wanted: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        wanted.extend(rest.iter().cloned());
        let wanted = wanted.join("::");
        let suffix = rest.join("::");
        let candidates = caller.nearest(&self.fns, self.free.get(name)?.iter().copied());
        let matching: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| {
                let found = &self.fns[i].module;
                *found == wanted
                    || (!absolute
                        && !suffix.is_empty()
                        && (*found == suffix || found.ends_with(&format!("::{suffix}"))))
            })
            .collect();
        match matching.len() {
            1 => Some(matching[0]),
            0 => (candidates.len() == 1).then(|| candidates[0]),
            _ => None,
        }
    }

    /// The shape of `field` of struct `owner`.
    pub fn field(&self, owner: &str, field: &str) -> Shape {
        self.structs
            .get(owner)
            .and_then(|fields| fields.get(field))
            .cloned()
            .unwrap_or(Shape::Other)
    }

    /// A static named `name`: the one in `module`, else the only one.
    pub fn static_item(&self, module: &str, name: &str) -> Option<(String, Shape)> {
        let candidates = self.statics.get(name)?;
        if let Some(found) = candidates.iter().find(|(m, _)| m == module) {
            return Some(found.clone());
        }
        (candidates.len() == 1).then(|| candidates[0].clone())
    }

    /// Reads a type the way the checker needs it: see [`Shape`].
    pub fn shape_of(&self, ty: &Type) -> Shape {
        shape_of(ty, &|name| self.structs.contains_key(name))
    }
}

/// Containers whose contents are reached by `Deref` or a call that the checker sees
/// through (`LazyLock` by deref, `OnceLock` by `get()`).
const SEE_THROUGH: &[&str] = &[
    "Arc",
    "Rc",
    "Box",
    "LazyLock",
    "LazyCell",
    "Lazy",
    "OnceLock",
    "OnceCell",
    "CachePadded",
    "ManuallyDrop",
    "Pin",
];

const SEQUENCES: &[&str] = &["Vec", "VecDeque"];

/// Whether a path names an async runtime's lock (taken with `.await`: not a thread lock).
fn is_async_path(path: &syn::Path) -> bool {
    path.segments.iter().any(|s| {
        matches!(
            s.ident.to_string().as_str(),
            "tokio" | "futures" | "async_std" | "async_lock" | "smol"
        )
    })
}

/// The lock kind a type's last path segment names.
pub fn lock_kind_named(name: &str) -> Option<LockKind> {
    match name {
        "Mutex" | "FairMutex" | "SpinMutex" | "TicketMutex" => Some(LockKind::Mutex),
        "RwLock" | "SpinRwLock" => Some(LockKind::RwLock),
        "ReentrantMutex" => Some(LockKind::Reentrant),
        _ => None,
    }
}

pub fn shape_of(ty: &Type, is_struct: &dyn Fn(&str) -> bool) -> Shape {
    match ty {
        Type::Reference(r) => shape_of(&r.elem, is_struct),
        Type::Paren(p) => shape_of(&p.elem, is_struct),
        Type::Group(g) => shape_of(&g.elem, is_struct),
        Type::Array(a) => element_shape(shape_of(&a.elem, is_struct)),
        Type::Slice(s) => element_shape(shape_of(&s.elem, is_struct)),
        Type::Path(p) if p.qself.is_none() => {
            if is_async_path(&p.path) {
                return Shape::Other;
            }
            let Some(last) = p.path.segments.last() else {
                return Shape::Other;
            };
            let name = last.ident.to_string();
            if let Some(kind) = lock_kind_named(&name) {
                return Shape::Lock(kind);
            }
            if name == "Condvar" {
                return Shape::Condvar;
            }
            match name.as_str() {
                "Barrier" => return Shape::Barrier,
                "Executor" => return Shape::Executor,
                "Job" => return Shape::Job,
                _ => {}
            }
            let first_arg = || match &last.arguments {
                PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
                    GenericArgument::Type(t) => Some(t),
                    _ => None,
                }),
                _ => None,
            };
            if SEE_THROUGH.contains(&name.as_str()) {
                return first_arg().map_or(Shape::Other, |t| shape_of(t, is_struct));
            }
            if SEQUENCES.contains(&name.as_str()) {
                return first_arg().map_or(Shape::Other, |t| element_shape(shape_of(t, is_struct)));
            }
            if name == "Self" {
                return Shape::Other;
            }
            if is_struct(&name) {
                return Shape::Struct(name);
            }
            Shape::Other
        }
        _ => Shape::Other,
    }
}

fn element_shape(inner: Shape) -> Shape {
    match inner {
        Shape::Lock(kind) => Shape::Locks(kind),
        _ => Shape::Other,
    }
}

/// Whether a return type hands out a guard.
pub fn names_guard(ty: &syn::ReturnType) -> bool {
    let syn::ReturnType::Type(_, ty) = ty else {
        return false;
    };
    let text = quote::ToTokens::to_token_stream(ty).to_string();
    text.contains("Guard")
}

/// The `static ref NAME: TYPE = ...;` entries of a `lazy_static!` invocation.
pub fn lazy_static_entries(tokens: proc_macro2::TokenStream) -> Vec<(String, Type)> {
    use proc_macro2::TokenTree;
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut entries = Vec::new();
    let mut i = 0;
    while i + 3 < tokens.len() {
        let is = |t: &TokenTree, word: &str| matches!(t, TokenTree::Ident(id) if id == word);
        if is(&tokens[i], "static") && is(&tokens[i + 1], "ref") {
            if let TokenTree::Ident(name) = &tokens[i + 2] {
                let start = i + 4;
                let mut end = start;
                while end < tokens.len()
                    && !matches!(&tokens[end], TokenTree::Punct(p) if p.as_char() == '=')
                {
                    end += 1;
                }
                let ty: proc_macro2::TokenStream =
                    tokens[start.min(end)..end].iter().cloned().collect();
                if let Ok(ty) = syn::parse2::<Type>(ty) {
                    entries.push((name.to_string(), ty));
                }
                i = end;
                continue;
            }
        }
        i += 1;
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Shape {
        let ty: Type = syn::parse_str(text).unwrap();
        shape_of(&ty, &|name| name == "Inner")
    }

    #[test]
    fn locks_are_seen_through_their_containers() {
        assert_eq!(shape("Mutex<u32>"), Shape::Lock(LockKind::Mutex));
        assert_eq!(
            shape("Arc<parking_lot::RwLock<u32>>"),
            Shape::Lock(LockKind::RwLock)
        );
        assert_eq!(
            shape("&'a LazyLock<Mutex<()>>"),
            Shape::Lock(LockKind::Mutex)
        );
        assert_eq!(shape("Vec<Mutex<u8>>"), Shape::Locks(LockKind::Mutex));
        assert_eq!(shape("[Mutex<u8>; 4]"), Shape::Locks(LockKind::Mutex));
        assert_eq!(shape("Arc<Inner>"), Shape::Struct("Inner".into()));
        assert_eq!(
            shape("ReentrantMutex<()>"),
            Shape::Lock(LockKind::Reentrant)
        );
        assert_eq!(shape("std::sync::Condvar"), Shape::Condvar);
        // An async runtime's lock is taken with `.await`: not a thread lock.
        assert_eq!(shape("tokio::sync::Mutex<u8>"), Shape::Other);
        assert_eq!(shape("HashMap<u8, u8>"), Shape::Other);
    }

    #[test]
    fn lazy_static_entries_are_read_from_the_macro() {
        let tokens: proc_macro2::TokenStream = syn::parse_str(
            "static ref A: Mutex<u8> = Mutex::new(0); pub static ref B: RwLock<Vec<u8>> = RwLock::new(vec![]);",
        )
        .unwrap();
        let entries = lazy_static_entries(tokens);
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["A", "B"]);
    }
}
