//! Walks one function body in evaluation order and keeps the set of guards alive at each
//! point, by Rust's drop rules. Records [`Event`]s with what is held at each.
//!
//! | construct | a guard made there lives until |
//! |---|---|
//! | `let g = m.lock()` (also `.unwrap()`, `?`, `let Ok(g) = .. else`) | the end of the block, or `drop(g)`, or a move into a call |
//! | `let _ = m.lock()` | the end of the statement (at once) |
//! | `let r = &m.lock().field` | the end of the block (temporary lifetime extension) |
//! | a temporary in a statement (`m.lock().push(1);`) | the statement's `;` |
//! | a `match`, `for` or `while let` scrutinee | the end of the construct (its arms, its body) |
//! | an `if` or `while` condition | the condition's end |
//! | an `if let` scrutinee | edition 2021: the end of the statement (else included); 2024: the then-block |
//! | a block's tail expression | 2021: the enclosing statement; 2024: the block |
//! | `cv.wait(g)` | unchanged, but the lock is given back during the wait |
//!
//! Branches are walked from the same state and joined (a guard alive on any branch that
//! does not diverge is alive after it): a lock taken after an `if` that drops a guard on
//! one branch only is ordered after the guard, as the other path runs. `O(n)` in the body's
//! size, times the number of live guards per event.

use super::facts::{Body, Event, Held, Inst, LockRef, Mode, Place, Root, Span};
use super::index::{Index, LockKind, Shape};
use std::collections::HashMap;
use syn::spanned::Spanned;
use syn::{Block, Expr, Pat, Stmt};

/// The context of a function being walked.
pub struct Frame<'a> {
    pub index: &'a Index,
    pub file: usize,
    pub module: &'a str,
    /// The body's name (`module::Type::method`).
    pub name: String,
    pub owner: Option<String>,
    pub edition_2024: bool,
    /// Wrappers returning guards: function index → the lock (in the wrapper's frame).
    pub wrappers: &'a HashMap<usize, (LockRef, Mode)>,
    /// Where calls are resolved from.
    pub caller: super::index::Caller,
    /// Classes that name the same thing, found where a struct is built from another's
    /// field (`Worker { executor: self.executor.clone() }`): (field class, class).
    pub aliases: &'a std::cell::RefCell<Vec<(String, String)>>,
    /// The body runs once per process (see [`Body::runs_once`]).
    pub runs_once: bool,
    /// Numbers locals, shared with the closures walked from this body.
    pub locals: &'a std::cell::Cell<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    /// A temporary of the scope with this number.
    Temp(u32),
    /// Bound to a name in the block at this depth.
    Bound(usize),
}

#[derive(Clone, Debug)]
struct Live {
    id: u32,
    held: Held,
    owner: Owner,
    /// Made by a `try_` lock and not yet unwrapped: held only where a pattern binds it
    /// (`Some(g)`, `Ok(g)`), not in a `None` or `Err(_)` arm.
    conditional: bool,
}

#[derive(Clone, Debug, Default)]
struct Binding {
    place: Option<Place>,
    guards: Vec<u32>,
    /// The thread this name's join handle is for (an index into `Walker::spawned`).
    handle: Option<usize>,
}

pub struct Walker<'a> {
    frame: &'a Frame<'a>,
    scopes: Vec<HashMap<String, Binding>>,
    live: Vec<Live>,
    next_guard: u32,
    temp_scope: u32,
    next_temp: u32,
    diverged: bool,
    events: Vec<Event>,
    returns: Option<(LockRef, Mode)>,
    returns_bare: bool,
    /// Closures handed to other threads, walked as bodies of their own.
    pub spawned: Vec<Body>,
    next_construct: u32,
    /// How many loops the walk is in.
    loops: u32,
}

/// Lock-taking methods: (name, mode, whether it waits).
const LOCK_METHODS: &[(&str, Mode, bool)] = &[
    ("lock", Mode::Exclusive, true),
    ("write", Mode::Exclusive, true),
    ("read", Mode::Read, true),
    ("read_recursive", Mode::ReadRecursive, true),
    ("upgradable_read", Mode::Read, true),
    ("lock_arc", Mode::Exclusive, true),
    ("write_arc", Mode::Exclusive, true),
    ("read_arc", Mode::Read, true),
    ("try_lock", Mode::Exclusive, false),
    ("try_write", Mode::Exclusive, false),
    ("try_read", Mode::Read, false),
    ("try_lock_for", Mode::Exclusive, false),
    ("try_lock_until", Mode::Exclusive, false),
    ("try_write_for", Mode::Exclusive, false),
    ("try_read_for", Mode::Read, false),
];

/// Methods whose result is their receiver's guard (poison handling and the like).
const KEEPS_GUARD: &[&str] = &["unwrap", "expect", "unwrap_or_else", "ok", "into_inner"];

/// Methods a receiver place is seen through (`OnceLock::get`, `Arc::clone`...).
const SEES_THROUGH: &[&str] = &[
    "clone",
    "as_ref",
    "get",
    "get_or_init",
    "unwrap",
    "expect",
    "borrow",
    "deref",
    "as_deref",
];

const CONDVAR_WAITS: &[&str] = &[
    "wait",
    "wait_while",
    "wait_timeout",
    "wait_timeout_while",
    "wait_timeout_ms",
    "wait_for",
    "wait_until",
    "wait_while_for",
    "wait_while_until",
];

/// Methods that run a closure on another thread.
const SPAWNS: &[&str] = &[
    "spawn",
    "execute",
    "spawn_blocking",
    "spawn_fifo",
    "spawn_scoped",
];

/// Methods that run a closure argument before they return, on the calling thread (even a
/// `move` closure).
const RUNS_IN_PLACE: &[&str] = &[
    "map",
    "for_each",
    "filter",
    "filter_map",
    "flat_map",
    "any",
    "all",
    "find",
    "find_map",
    "position",
    "fold",
    "try_fold",
    "try_for_each",
    "retain",
    "sort_by",
    "sort_by_key",
    "and_then",
    "map_or",
    "map_or_else",
    "unwrap_or_else",
    "or_else",
    "get_or_init",
    "get_or_insert_with",
    "or_insert_with",
    "with",
    "idle",
    "run",
    "waiting",
    "install",
    "scope",
];

/// The executor rayon's pools are, for the rules: one for every pool (a thread waiting
/// on rayon from one of rayon's threads runs other rayon work meanwhile).
const RAYON: &str = "rayon";

/// The methods that make a rayon parallel iterator.
const PARALLEL_SOURCES: &[&str] = &[
    "par_iter",
    "par_iter_mut",
    "into_par_iter",
    "par_bridge",
    "par_chunks",
    "par_chunks_mut",
    "par_windows",
    "par_split",
    "par_lines",
    "par_bytes",
    "par_chars",
    "par_drain",
    "par_extend",
    "par_sort",
    "par_sort_by",
    "par_sort_unstable",
];

/// The methods that consume a rayon parallel iterator: the caller waits in them.
const PARALLEL_CONSUMERS: &[&str] = &[
    "for_each",
    "for_each_with",
    "for_each_init",
    "try_for_each",
    "try_for_each_with",
    "collect",
    "collect_into_vec",
    "sum",
    "product",
    "count",
    "reduce",
    "reduce_with",
    "try_reduce",
    "min",
    "max",
    "min_by",
    "max_by",
    "min_by_key",
    "max_by_key",
    "any",
    "all",
    "find_any",
    "find_first",
    "find_last",
    "find_map_any",
    "find_map_first",
    "position_any",
    "position_first",
    "unzip",
    "partition",
    "partition_map",
];

/// Whether an expression is (a method chain on) a rayon parallel iterator.
fn in_parallel_chain(expr: &Expr) -> bool {
    match expr {
        Expr::MethodCall(call) => {
            PARALLEL_SOURCES.contains(&call.method.to_string().as_str())
                || in_parallel_chain(&call.receiver)
        }
        Expr::Paren(p) => in_parallel_chain(&p.expr),
        _ => false,
    }
}

/// Macros that never return.
const DIVERGING_MACROS: &[&str] = &["panic", "unreachable", "todo", "unimplemented"];

impl<'a> Walker<'a> {
    pub fn new(frame: &'a Frame<'a>) -> Walker<'a> {
        Walker {
            frame,
            scopes: vec![HashMap::new()],
            live: Vec::new(),
            next_guard: 0,
            temp_scope: 0,
            next_temp: 1,
            diverged: false,
            events: Vec::new(),
            returns: None,
            returns_bare: false,
            spawned: Vec::new(),
            next_construct: 0,
            loops: 0,
        }
    }

    fn new_construct(&mut self) -> u32 {
        self.next_construct += 1;
        self.next_construct
    }

    /// Binds a parameter (`self` first for methods).
    pub fn bind_param(&mut self, position: usize, name: &str, shape: &Shape) {
        let root = if name == "self" {
            Root::Receiver
        } else {
            Root::Param(position)
        };
        let place = self.place_of_shape(Inst::new(root), shape, name);
        if let (Some(place), Some(scope)) = (place, self.scopes.last_mut()) {
            scope.insert(
                name.to_string(),
                Binding {
                    place: Some(place),
                    guards: Vec::new(),
                    handle: None,
                },
            );
        }
    }

    /// Walks a function body; returns what it saw.
    pub fn walk_body(mut self, block: &Block, function: Option<usize>, site: Span) -> Vec<Body> {
        let value = self.block(block, true);
        if !self.diverged {
            self.returned(&value);
        }
        let mut bodies = vec![Body {
            name: self.frame.name.clone(),
            function,
            spawned: false,
            site,
            events: std::mem::take(&mut self.events),
            returns: if self.returns_bare {
                None
            } else {
                self.returns.take()
            },
            started_by: None,
            runs_once: self.frame.runs_once,
        }];
        bodies.append(&mut self.spawned);
        bodies
    }

    /// `T { f: self.x.clone() }`: the field class `T::f` names what `self.x` names.
    fn note_aliases(&self, s: &syn::ExprStruct) {
        let Some(ty) = s.path.segments.last().map(|s| s.ident.to_string()) else {
            return;
        };
        if !self.frame.index.structs.contains_key(&ty) {
            return;
        }
        for field in &s.fields {
            let syn::Member::Named(name) = &field.member else {
                continue;
            };
            let class = match self.place(&field.expr) {
                Some(Place::Executor(class))
                | Some(Place::Condvar {
                    class,
                    from_param: false,
                }) => class,
                Some(Place::Lock(lock)) if lock.class_from_param.is_none() => lock.class,
                _ => continue,
            };
            let field_class = format!("{ty}::{name}");
            if field_class != class {
                self.frame.aliases.borrow_mut().push((field_class, class));
            }
        }
    }

    fn new_local(&self) -> u32 {
        let number = self.frame.locals.get() + 1;
        self.frame.locals.set(number);
        number
    }

    fn span(&self, span: proc_macro2::Span) -> Span {
        Span::of(self.frame.file, span)
    }

    fn held(&self) -> Vec<Held> {
        self.live.iter().map(|l| l.held.clone()).collect()
    }

    fn lookup(&self, name: &str) -> Option<&Binding> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    fn place_of_shape(&self, inst: Inst, shape: &Shape, name: &str) -> Option<Place> {
        let param = match inst.root {
            Root::Param(i) if inst.path.is_empty() => Some(i),
            _ => None,
        };
        place_for(format!("{}::{name}", self.frame.name), inst, shape, param)
    }

    // ---- scopes --------------------------------------------------------------------

    fn push_scope(&mut self) {
        self.scopes.push(HashMap::new());
    }

    fn pop_scope(&mut self) {
        let depth = self.scopes.len();
        self.live.retain(|l| l.owner != Owner::Bound(depth));
        self.scopes.pop();
    }

    fn open_temps(&mut self) -> u32 {
        let outer = self.temp_scope;
        self.temp_scope = self.next_temp;
        self.next_temp += 1;
        outer
    }

    fn close_temps(&mut self, outer: u32) {
        let scope = self.temp_scope;
        self.live.retain(|l| l.owner != Owner::Temp(scope));
        self.temp_scope = outer;
    }

    fn make_definite(&mut self, guards: &[u32]) {
        for live in self.live.iter_mut().filter(|l| guards.contains(&l.id)) {
            live.conditional = false;
        }
    }

    /// Drops the conditional guards of `value` where `pat` does not bind them.
    fn unless_bound(&mut self, pat: &Pat, value: &[u32]) {
        if binds_a_guard(pat) {
            return;
        }
        self.live
            .retain(|l| !(l.conditional && value.contains(&l.id)));
    }

    fn end_guards(&mut self, guards: &[u32]) {
        self.live.retain(|l| !guards.contains(&l.id));
    }

    /// Binds every name of `pat` in the innermost scope; the guards of `value` to the
    /// first name bound (a guard has one owner).
    fn bind(&mut self, pat: &Pat, value: Vec<u32>, place: Option<Place>) {
        let mut names = Vec::new();
        pattern_names(pat, &mut names);
        let depth = self.scopes.len();
        if names.is_empty() {
            // `let _ = ..`: nothing owns the value; it is dropped with the temporaries.
            return;
        }
        for live in self.live.iter_mut().filter(|l| value.contains(&l.id)) {
            live.owner = Owner::Bound(depth);
        }
        // The guards now have a new owner: the name that had them no longer does.
        for scope in &mut self.scopes {
            for binding in scope.values_mut() {
                binding.guards.retain(|g| !value.contains(g));
            }
        }
        let single = names.len() == 1 && matches!(pat, Pat::Ident(_) | Pat::Type(_));
        for (i, name) in names.into_iter().enumerate() {
            let binding = Binding {
                place: if single { place.clone() } else { None },
                guards: if i == 0 { value.clone() } else { Vec::new() },
                handle: None,
            };
            if let Some(scope) = self.scopes.last_mut() {
                scope.insert(name, binding);
            }
        }
    }

    // ---- blocks and statements -----------------------------------------------------

    /// Walks a block in a scope of its own; `body` says whether it is a temporary scope
    /// too (the body of a function, `if`, loop or arm).
    fn block(&mut self, block: &Block, body: bool) -> Vec<u32> {
        self.push_scope();
        let outer = body.then(|| self.open_temps());
        let mut value = Vec::new();
        let count = block.stmts.len();
        for (i, stmt) in block.stmts.iter().enumerate() {
            let tail = i + 1 == count && matches!(stmt, Stmt::Expr(_, None));
            value = self.stmt(stmt, tail);
        }
        // The value leaves the block: its guards now belong to whoever takes it.
        let depth = self.scopes.len();
        for live in self.live.iter_mut().filter(|l| value.contains(&l.id)) {
            if live.owner == Owner::Bound(depth) {
                live.owner = Owner::Temp(self.temp_scope);
            }
        }
        if let Some(outer) = outer {
            // The value of a body block outlives its temporaries.
            let scope = self.temp_scope;
            for live in self.live.iter_mut().filter(|l| value.contains(&l.id)) {
                if live.owner == Owner::Temp(scope) {
                    live.owner = Owner::Temp(outer);
                }
            }
            self.close_temps(outer);
        }
        self.pop_scope();
        value
    }

    fn stmt(&mut self, stmt: &Stmt, tail: bool) -> Vec<u32> {
        let attrs = match stmt {
            Stmt::Local(local) => &local.attrs[..],
            Stmt::Expr(expr, _) => super::cfg::expr_attrs(expr),
            Stmt::Macro(mac) => &mac.attrs[..],
            Stmt::Item(_) => &[],
        };
        if !super::cfg::enabled(attrs) {
            return Vec::new();
        }
        match stmt {
            Stmt::Local(local) => {
                let outer = self.open_temps();
                let mut value = Vec::new();
                let mut place = None;
                let spawned_before = self.spawned.len();
                if let Some(init) = &local.init {
                    value = self.expr_in_let(&init.expr);
                    place = self.local_place(&local.pat, &init.expr);
                    if let Some((_, diverge)) = &init.diverge {
                        let saved = self.live.clone();
                        let was = self.diverged;
                        self.expr(diverge);
                        self.live = saved;
                        self.diverged = was;
                    }
                } else if let Pat::Type(typed) = &local.pat {
                    place = self.typed_local(typed);
                }
                self.bind(&local.pat, value, place);
                // `let handle = thread::spawn(..)`: its `join` ends that thread.
                if self.spawned.len() > spawned_before {
                    if let Some(name) = single_name(&local.pat) {
                        if let Some(binding) = self.scopes.last_mut().and_then(|s| s.get_mut(&name))
                        {
                            binding.handle = Some(spawned_before);
                        }
                    }
                }
                // `let (a, b) = (x.clone(), y.clone())`: each name its element's place.
                if let (Pat::Tuple(names), Some(init)) = (&local.pat, &local.init) {
                    if let Expr::Tuple(values) = &*init.expr {
                        if names.elems.len() == values.elems.len() {
                            for (pat, value) in names.elems.iter().zip(&values.elems) {
                                let (Some(name), Some(place)) =
                                    (single_name(pat), self.local_place(pat, value))
                                else {
                                    continue;
                                };
                                if let Some(binding) =
                                    self.scopes.last_mut().and_then(|s| s.get_mut(&name))
                                {
                                    binding.place = Some(place);
                                }
                            }
                        }
                    }
                }
                self.close_temps(outer);
                Vec::new()
            }
            Stmt::Expr(expr, semi) => {
                if tail && !self.frame.edition_2024 {
                    // 2021: a tail expression's temporaries outlive the block.
                    return self.expr(expr);
                }
                let outer = self.open_temps();
                let value = self.expr(expr);
                if semi.is_none() {
                    // The block's value: it survives the statement's temporaries.
                    let scope = self.temp_scope;
                    for live in self.live.iter_mut().filter(|l| value.contains(&l.id)) {
                        if live.owner == Owner::Temp(scope) {
                            live.owner = Owner::Temp(outer);
                        }
                    }
                }
                self.close_temps(outer);
                if semi.is_some() {
                    Vec::new()
                } else {
                    value
                }
            }
            Stmt::Macro(mac) => {
                let outer = self.open_temps();
                self.mac(&mac.mac);
                self.close_temps(outer);
                Vec::new()
            }
            Stmt::Item(_) => Vec::new(),
        }
    }

    /// The place a `let` names: a new lock, an alias of one, a struct of the crate.
    fn local_place(&mut self, pat: &Pat, init: &Expr) -> Option<Place> {
        if let Pat::Type(typed) = pat {
            if let Some(place) = self.typed_local(typed) {
                return Some(place);
            }
        }
        if let Some(place) = self.place(init) {
            return Some(place);
        }
        // `let job = executor.queue()`: the job's handle.
        if let Expr::MethodCall(call) = init {
            if call.method == "queue"
                && matches!(self.place(&call.receiver), Some(Place::Executor(_)))
            {
                return Some(Place::Job);
            }
        }
        let name = single_name(pat)?;
        let shape = self.constructed_shape(init)?;
        self.place_of_shape(Inst::new(Root::Local(self.new_local())), &shape, &name)
    }

    fn typed_local(&mut self, typed: &syn::PatType) -> Option<Place> {
        let name = single_name(&typed.pat)?;
        let shape = self.frame.index.shape_of(&typed.ty);
        self.place_of_shape(Inst::new(Root::Local(self.new_local())), &shape, &name)
    }

    /// What `Mutex::new(..)`, `Arc::new(RwLock::new(..))`, `Bank::new(..)`,
    /// `Bank { .. }` make.
    fn constructed_shape(&self, expr: &Expr) -> Option<Shape> {
        match expr {
            Expr::Call(call) => {
                let Expr::Path(path) = &*call.func else {
                    return None;
                };
                let segments = segment_names(&path.path);
                let ty = segments
                    .len()
                    .checked_sub(2)
                    .map(|i| segments[i].as_str())?;
                let last = segments.last()?.as_str();
                if matches!(ty, "Arc" | "Rc" | "Box") && last == "new" {
                    return self.constructed_shape(call.args.first()?);
                }
                let makers = [
                    "new",
                    "default",
                    "with_capacity",
                    "const_new",
                    "named",
                    "with_name",
                    "for_executor",
                ];
                if !makers.contains(&last) {
                    return None;
                }
                if let Some(kind) = super::index::lock_kind_named(ty) {
                    return Some(Shape::Lock(kind));
                }
                if ty == "Condvar" {
                    return Some(Shape::Condvar);
                }
                match ty {
                    "Barrier" => return Some(Shape::Barrier),
                    "Executor" => return Some(Shape::Executor),
                    _ => {}
                }
                self.frame
                    .index
                    .structs
                    .contains_key(ty)
                    .then(|| Shape::Struct(ty.to_string()))
            }
            Expr::Struct(s) => {
                let name = s.path.segments.last()?.ident.to_string();
                self.frame
                    .index
                    .structs
                    .contains_key(&name)
                    .then_some(Shape::Struct(name))
            }
            Expr::Paren(p) => self.constructed_shape(&p.expr),
            _ => None,
        }
    }

    // ---- places: what a receiver or argument names -----------------------------------

    /// The lock, condvar or struct an expression names, if the checker can tell.
    pub fn place(&self, expr: &Expr) -> Option<Place> {
        match expr {
            Expr::Path(path) => {
                if path.qself.is_some() {
                    return None;
                }
                let segments = &path.path.segments;
                if segments.len() == 1 {
                    let name = segments[0].ident.to_string();
                    if name == "self" {
                        let ty = self.frame.owner.clone()?;
                        return Some(Place::Struct {
                            inst: Inst::new(Root::Receiver),
                            ty,
                        });
                    }
                    if let Some(binding) = self.lookup(&name) {
                        return binding.place.clone();
                    }
                }
                let name = segments.last()?.ident.to_string();
                let (module, shape) = self.frame.index.static_item(self.frame.module, &name)?;
                let class = if module.is_empty() {
                    name.clone()
                } else {
                    format!("{module}::{name}")
                };
                let inst = match shape {
                    // Each static struct is an instance of its own.
                    Shape::Struct(_) => Inst {
                        root: Root::Static,
                        path: class.clone(),
                    },
                    _ => Inst::new(Root::Static),
                };
                place_for(class, inst, &shape, None)
            }
            Expr::Field(field) => {
                let Place::Struct { inst, ty } = self.place(&field.base)? else {
                    return None;
                };
                let name = match &field.member {
                    syn::Member::Named(ident) => ident.to_string(),
                    syn::Member::Unnamed(index) => index.index.to_string(),
                };
                let inst = inst.child(&format!(".{name}"));
                place_for(
                    format!("{ty}::{name}"),
                    inst,
                    &self.frame.index.field(&ty, &name),
                    None,
                )
            }
            Expr::Index(index) => {
                let Place::Locks(lock) = self.place(&index.expr)? else {
                    return None;
                };
                let key = simple_tokens(&index.index);
                let inst = match key {
                    Some(key) => lock.inst.child(&format!("[{key}]")),
                    None => Inst::new(Root::Unknown),
                };
                Some(Place::Lock(LockRef { inst, ..lock }))
            }
            Expr::Paren(p) => self.place(&p.expr),
            Expr::Group(g) => self.place(&g.expr),
            Expr::Reference(r) => self.place(&r.expr),
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => self.place(&u.expr),
            Expr::MethodCall(call)
                if SEES_THROUGH.contains(&call.method.to_string().as_str())
                    && (call.args.is_empty() || call.method == "get_or_init") =>
            {
                self.place(&call.receiver)
            }
            Expr::Call(call) => {
                // `Arc::clone(&x)`, `Rc::clone(&x)`, `LazyLock::force(&X)`.
                let Expr::Path(path) = &*call.func else {
                    return None;
                };
                let last = path.path.segments.last()?.ident.to_string();
                (matches!(last.as_str(), "clone" | "force") && call.args.len() == 1)
                    .then(|| self.place(&call.args[0]))
                    .flatten()
            }
            _ => None,
        }
    }

    // ---- expressions ---------------------------------------------------------------

    /// A `let` initializer: `&`-borrows of a guard's place extend the guard to the block.
    fn expr_in_let(&mut self, expr: &Expr) -> Vec<u32> {
        match expr {
            Expr::Reference(r) => self.extended_place(&r.expr),
            _ => self.expr(expr),
        }
    }

    fn extended_place(&mut self, expr: &Expr) -> Vec<u32> {
        match expr {
            Expr::Field(f) => self.extended_place(&f.base),
            Expr::Index(i) => {
                let guards = self.extended_place(&i.expr);
                self.expr(&i.index);
                guards
            }
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => self.extended_place(&u.expr),
            Expr::Paren(p) => self.extended_place(&p.expr),
            _ => self.expr(expr),
        }
    }

    /// Walks an expression; returns the guards its value owns.
    fn expr(&mut self, expr: &Expr) -> Vec<u32> {
        match expr {
            Expr::MethodCall(call) => self.method_call(call, false),
            Expr::Call(call) => self.call(call),
            Expr::Await(a) => {
                // `m.lock().await` is an async lock, `rx.recv().await` an async wait:
                // neither blocks a thread.
                if let Expr::MethodCall(call) = &*a.base {
                    self.method_call(call, true);
                } else {
                    self.expr(&a.base);
                }
                Vec::new()
            }
            Expr::Try(t) => {
                let value = self.expr(&t.expr);
                self.make_definite(&value);
                value
            }
            Expr::Paren(p) => self.expr(&p.expr),
            Expr::Group(g) => self.expr(&g.expr),
            Expr::Path(path) => {
                if path.path.segments.len() == 1 {
                    let name = path.path.segments[0].ident.to_string();
                    if let Some(binding) = self.lookup(&name) {
                        return binding.guards.clone();
                    }
                }
                Vec::new()
            }
            Expr::Block(b) => self.block(&b.block, false),
            Expr::Unsafe(u) => self.block(&u.block, false),
            Expr::If(i) => self.if_expr(i),
            Expr::Match(m) => self.match_expr(m),
            Expr::While(w) => {
                let before = self.live.clone();
                let was = self.diverged;
                let (let_pat, scrutinee) = let_of(&w.cond);
                let outer = self.open_temps();
                self.push_scope();
                match let_pat {
                    Some(pat) => {
                        // `while let`: the scrutinee's temporaries live through the body.
                        let value = self.expr(scrutinee);
                        self.bind(pat, value, None);
                    }
                    None => {
                        let cond = self.open_temps();
                        self.expr(&w.cond);
                        self.close_temps(cond);
                    }
                }
                self.loops += 1;
                self.block(&w.body, true);
                self.loops -= 1;
                self.pop_scope();
                self.close_temps(outer);
                self.join_loop(before);
                self.diverged = was;
                Vec::new()
            }
            Expr::ForLoop(f) => {
                // The iterator (and any guard it borrows) lives through the loop.
                self.expr(&f.expr);
                let before = self.live.clone();
                let was = self.diverged;
                self.push_scope();
                self.bind(&f.pat, Vec::new(), None);
                self.loops += 1;
                self.block(&f.body, true);
                self.loops -= 1;
                self.pop_scope();
                self.join_loop(before);
                self.diverged = was;
                Vec::new()
            }
            Expr::Loop(l) => {
                let before = self.live.clone();
                self.loops += 1;
                self.block(&l.body, true);
                self.loops -= 1;
                self.join_loop(before);
                // A `loop` ends only by `break` (or never): what follows runs after one.
                self.diverged = false;
                Vec::new()
            }
            Expr::Closure(c) => {
                // A closure runs here (iterator adaptors, `with`-style helpers: walked in
                // place, with what is held now) unless it is a `move` closure, which is
                // kept or sent to run later or elsewhere (a body of its own).
                if c.capture.is_some() {
                    let site = self.span(c.or1_token.span);
                    self.spawned_closure(c, site);
                } else {
                    self.closure_inline(c);
                }
                Vec::new()
            }
            Expr::Return(r) => {
                if let Some(value) = &r.expr {
                    let value = self.expr(value);
                    self.returned(&value);
                }
                self.diverged = true;
                Vec::new()
            }
            Expr::Break(b) => {
                if let Some(value) = &b.expr {
                    self.expr(value);
                }
                self.diverged = true;
                Vec::new()
            }
            Expr::Continue(_) => {
                self.diverged = true;
                Vec::new()
            }
            Expr::Macro(m) => {
                self.mac(&m.mac);
                Vec::new()
            }
            Expr::Assign(a) => {
                let value = self.expr(&a.right);
                if let Expr::Path(path) = &*a.left {
                    if path.path.segments.len() == 1 {
                        let name = path.path.segments[0].ident.to_string();
                        self.reassign(&name, value);
                        return Vec::new();
                    }
                }
                // Stored in a field or a slot: it stays held with its new owner.
                self.expr(&a.left);
                for live in self.live.iter_mut().filter(|l| value.contains(&l.id)) {
                    live.owner = Owner::Bound(1);
                }
                Vec::new()
            }
            // Their value borrows or copies out of a guard; it owns none.
            Expr::Reference(r) => self.discard(&[&r.expr]),
            Expr::Field(f) => self.discard(&[&f.base]),
            Expr::Index(i) => self.discard(&[&i.expr, &i.index]),
            Expr::Unary(u) => self.discard(&[&u.expr]),
            Expr::Binary(b) => {
                self.expr(&b.left);
                if matches!(b.op, syn::BinOp::And(_) | syn::BinOp::Or(_)) {
                    let outer = self.open_temps();
                    self.expr(&b.right);
                    self.close_temps(outer);
                } else {
                    self.expr(&b.right);
                }
                Vec::new()
            }
            Expr::Cast(c) => self.discard(&[&c.expr]),
            Expr::Let(l) => self.expr(&l.expr),
            Expr::Tuple(t) => t.elems.iter().flat_map(|e| self.expr(e)).collect(),
            Expr::Array(a) => a.elems.iter().flat_map(|e| self.expr(e)).collect(),
            Expr::Struct(s) => {
                self.note_aliases(s);
                let mut value: Vec<u32> =
                    s.fields.iter().flat_map(|f| self.expr(&f.expr)).collect();
                if let Some(rest) = &s.rest {
                    value.extend(self.expr(rest));
                }
                value
            }
            Expr::Range(r) => {
                if let Some(start) = &r.start {
                    self.expr(start);
                }
                if let Some(end) = &r.end {
                    self.expr(end);
                }
                Vec::new()
            }
            Expr::Repeat(r) => self.discard(&[&r.expr]),
            // Async blocks run elsewhere, later; constants hold no guard.
            _ => Vec::new(),
        }
    }

    /// Walks the expressions for what they do; the value owns no guard.
    fn discard(&mut self, exprs: &[&Expr]) -> Vec<u32> {
        for expr in exprs {
            self.expr(expr);
        }
        Vec::new()
    }

    fn reassign(&mut self, name: &str, value: Vec<u32>) {
        let depth = (1..=self.scopes.len())
            .rev()
            .find(|&d| self.scopes[d - 1].contains_key(name));
        let Some(depth) = depth else {
            return;
        };
        // The old value is dropped when the new one is assigned.
        let old: Vec<u32> = self.scopes[depth - 1]
            .get(name)
            .map(|b| b.guards.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|g| !value.contains(g))
            .collect();
        self.end_guards(&old);
        for live in self.live.iter_mut().filter(|l| value.contains(&l.id)) {
            live.owner = Owner::Bound(depth);
        }
        for scope in &mut self.scopes {
            for binding in scope.values_mut() {
                binding.guards.retain(|g| !value.contains(g));
            }
        }
        if let Some(binding) = self.scopes[depth - 1].get_mut(name) {
            binding.guards = value;
        }
    }

    /// After a loop: what was held before it, joined with what is held after one pass.
    fn join_loop(&mut self, before: Vec<Live>) {
        for live in before {
            if !self.live.iter().any(|l| l.id == live.id) {
                self.live.push(live);
            }
        }
    }

    fn returned(&mut self, value: &[u32]) {
        match self.live.iter().find(|l| value.contains(&l.id)) {
            Some(live) if self.returns.is_none() => {
                self.returns = Some((live.held.lock.clone(), live.held.mode));
            }
            Some(_) => {}
            // A path that returns no guard (a reentrancy check handing out an empty
            // guard): the wrapper does not always take its lock.
            None => self.returns_bare = true,
        }
    }

    fn if_expr(&mut self, i: &syn::ExprIf) -> Vec<u32> {
        let (let_pat, scrutinee) = let_of(&i.cond);
        let was = self.diverged;
        // A plain condition, and a 2024 `if let`, form a temporary scope; a 2021
        // `if let` scrutinee's temporaries live to the end of the statement, `else` too.
        let scoped = let_pat.is_none() || self.frame.edition_2024;
        let outer = scoped.then(|| self.open_temps());
        let if_temps = self.temp_scope;
        self.push_scope();
        let if_depth = self.scopes.len();
        let mut scrutinee_value = Vec::new();
        match let_pat {
            Some(pat) => {
                scrutinee_value = self.expr(scrutinee);
                self.bind(pat, scrutinee_value.clone(), None);
            }
            None => {
                self.expr(&i.cond);
                self.live.retain(|l| l.owner != Owner::Temp(if_temps));
            }
        }
        // `else` runs without the pattern's bindings (and, scoped, its temporaries).
        let else_start: Vec<Live> = self
            .live
            .iter()
            .filter(|l| {
                l.owner != Owner::Bound(if_depth)
                    && !(scoped && l.owner == Owner::Temp(if_temps))
                    && !(l.conditional && scrutinee_value.contains(&l.id))
            })
            .cloned()
            .collect();
        self.diverged = false;
        let construct = self.new_construct();
        self.events.push(Event::EnterBranch { construct, arm: 0 });
        let mut value = self.block(&i.then_branch, true);
        self.events.push(Event::LeaveBranch);
        self.pop_scope();
        if let Some(outer) = outer {
            self.close_temps(outer);
        }
        let mut joined: Vec<Live> = Vec::new();
        let mut all_diverge = true;
        if !self.diverged {
            joined = std::mem::take(&mut self.live);
            all_diverge = false;
        }
        self.live = else_start;
        self.diverged = false;
        if let Some((_, otherwise)) = &i.else_branch {
            self.events.push(Event::EnterBranch { construct, arm: 1 });
            value.extend(self.expr(otherwise));
            self.events.push(Event::LeaveBranch);
        }
        if !self.diverged {
            all_diverge = false;
            for live in std::mem::take(&mut self.live) {
                if !joined.iter().any(|l| l.id == live.id) {
                    joined.push(live);
                }
            }
        }
        self.live = joined;
        self.diverged = all_diverge || was;
        value
    }

    fn match_expr(&mut self, m: &syn::ExprMatch) -> Vec<u32> {
        // The scrutinee's temporaries live through every arm (to the statement's end).
        let scrutinee = self.expr(&m.expr);
        let start = self.live.clone();
        let was = self.diverged;
        let mut joined: Vec<Live> = Vec::new();
        let mut all_diverge = !m.arms.is_empty();
        let mut value = Vec::new();
        let construct = self.new_construct();
        for (number, arm) in m.arms.iter().enumerate() {
            self.events.push(Event::EnterBranch {
                construct,
                arm: number as u32,
            });
            self.live = start.clone();
            self.diverged = false;
            self.push_scope();
            self.unless_bound(&arm.pat, &scrutinee);
            self.bind(&arm.pat, scrutinee.clone(), None);
            if let Some((_, guard)) = &arm.guard {
                let outer = self.open_temps();
                self.expr(guard);
                self.close_temps(outer);
            }
            let outer = self.open_temps();
            let arm_value = self.expr(&arm.body);
            let scope = self.temp_scope;
            for live in self.live.iter_mut().filter(|l| arm_value.contains(&l.id)) {
                if live.owner == Owner::Temp(scope) {
                    live.owner = Owner::Temp(outer);
                }
            }
            self.close_temps(outer);
            // Arm bindings end with the arm, unless the arm's value carries them out.
            let depth = self.scopes.len();
            for live in self.live.iter_mut().filter(|l| arm_value.contains(&l.id)) {
                if live.owner == Owner::Bound(depth) {
                    live.owner = Owner::Temp(self.temp_scope);
                }
            }
            self.pop_scope();
            self.events.push(Event::LeaveBranch);
            value.extend(arm_value);
            if !self.diverged {
                all_diverge = false;
                for live in std::mem::take(&mut self.live) {
                    if !joined.iter().any(|l| l.id == live.id) {
                        joined.push(live);
                    }
                }
            }
        }
        self.live = if m.arms.is_empty() { start } else { joined };
        self.diverged = all_diverge || was;
        value
    }

    fn closure_inline(&mut self, c: &syn::ExprClosure) {
        self.push_scope();
        for input in &c.inputs {
            self.bind(input, Vec::new(), None);
        }
        let outer = self.open_temps();
        let was = self.diverged;
        let saved_returns = self.returns.take();
        self.expr(&c.body);
        self.returns = saved_returns;
        self.diverged = was;
        self.close_temps(outer);
        self.pop_scope();
    }

    /// A closure run on another thread: a body of its own, with the names in scope here
    /// but nothing held.
    fn spawned_closure(&mut self, c: &syn::ExprClosure, site: Span) {
        let number = self.spawned.len() + 1;
        let frame = Frame {
            index: self.frame.index,
            file: self.frame.file,
            module: self.frame.module,
            name: format!("{}::{{closure#{number}}}", self.frame.name),
            owner: self.frame.owner.clone(),
            edition_2024: self.frame.edition_2024,
            wrappers: self.frame.wrappers,
            caller: self.frame.caller,
            aliases: self.frame.aliases,
            locals: self.frame.locals,
            runs_once: self.frame.runs_once && self.loops == 0,
        };
        let mut inner = Walker::new(&frame);
        let mut names: HashMap<String, Binding> = HashMap::new();
        for scope in &self.scopes {
            for (name, binding) in scope {
                names.insert(
                    name.clone(),
                    Binding {
                        place: binding.place.clone(),
                        guards: Vec::new(),
                        handle: None,
                    },
                );
            }
        }
        inner.scopes = vec![names, HashMap::new()];
        for input in &c.inputs {
            inner.bind(input, Vec::new(), None);
        }
        inner.expr(&c.body);
        let mut nested = std::mem::take(&mut inner.spawned);
        self.spawned.push(Body {
            name: frame.name.clone(),
            function: None,
            spawned: true,
            site,
            events: std::mem::take(&mut inner.events),
            returns: None,
            started_by: Some((self.frame.name.clone(), self.events.len(), None)),
            runs_once: frame.runs_once,
        });
        self.spawned.append(&mut nested);
    }

    fn mac(&mut self, mac: &syn::Macro) {
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        use syn::parse::Parser;
        let parser = syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated;
        if let Ok(args) = parser.parse2(mac.tokens.clone()) {
            for arg in &args {
                self.expr(arg);
            }
        }
        if DIVERGING_MACROS.contains(&name.as_str()) {
            self.diverged = true;
        }
    }

    fn acquire(&mut self, lock: LockRef, mode: Mode, waits: bool, site: Span) -> u32 {
        self.events.push(Event::Acquire {
            lock: lock.clone(),
            mode,
            site,
            waits,
            held: self.held(),
        });
        let id = self.next_guard;
        self.next_guard += 1;
        self.live.push(Live {
            id,
            held: Held { lock, mode, site },
            owner: Owner::Temp(self.temp_scope),
            conditional: !waits,
        });
        id
    }

    fn method_call(&mut self, call: &syn::ExprMethodCall, awaited: bool) -> Vec<u32> {
        let method = call.method.to_string();
        let site = self.span(call.method.span());
        if SPAWNS.contains(&method.as_str()) {
            if let Some(Expr::Closure(c)) = call.args.iter().find(|a| matches!(a, Expr::Closure(_)))
            {
                self.expr(&call.receiver);
                self.spawned_closure(c, site);
                return Vec::new();
            }
        }
        let receiver_value = self.expr(&call.receiver);
        // A guard's own methods (`guard.push(..)`) neither move nor end it.
        let receiver_place = self.place(&call.receiver);
        if !awaited {
            if let Some(Place::Lock(lock)) = &receiver_place {
                if let Some(&(_, mode, waits)) = LOCK_METHODS.iter().find(|(m, _, _)| *m == method)
                {
                    for arg in &call.args {
                        self.expr(arg);
                    }
                    return vec![self.acquire(lock.clone(), mode, waits, site)];
                }
            }
        }
        if KEEPS_GUARD.contains(&method.as_str()) {
            for arg in &call.args {
                self.expr(arg);
            }
            if method != "ok" {
                // Past `unwrap` the lock was taken: the code goes on only if it was.
                self.make_definite(&receiver_value);
            }
            return receiver_value;
        }
        let mut walked = 0;
        if CONDVAR_WAITS.contains(&method.as_str()) {
            if let Some(first) = call.args.first() {
                walked = 1;
                // std's waits take the guard by value; parking_lot's by `&mut`.
                let (moved, guards) = match first {
                    Expr::Reference(r) => {
                        let made = self.expr(&r.expr);
                        let guards = if made.is_empty() {
                            self.guards_named(&r.expr)
                        } else {
                            made
                        };
                        (Vec::new(), guards)
                    }
                    _ => {
                        let moved = self.expr(first);
                        (moved.clone(), moved)
                    }
                };
                if let Some(released) = self.live.iter().find(|l| guards.contains(&l.id)).cloned() {
                    for arg in call.args.iter().skip(1) {
                        self.expr(arg);
                    }
                    let condvar = known_condvar(receiver_place);
                    let held = self
                        .live
                        .iter()
                        .filter(|l| l.id != released.id)
                        .map(|l| l.held.clone())
                        .collect();
                    self.events.push(Event::Wait {
                        condvar,
                        releases: Some(released.held.lock.clone()),
                        timed: !matches!(method.as_str(), "wait" | "wait_while"),
                        // `wait_while` loops on its predicate itself.
                        rechecked: self.loops > 0 || method.contains("while"),
                        site,
                        held,
                    });
                    return moved;
                }
            }
        }
        match (&receiver_place, method.as_str()) {
            (Some(Place::Executor(executor)), "queue" | "enroll") => {
                let executor = executor.clone();
                self.events.push(if method == "queue" {
                    Event::Queue { executor, site }
                } else {
                    Event::Serve { executor, site }
                });
                return Vec::new();
            }
            (Some(Place::Job), "wait" | "wait_timeout") => {
                for arg in &call.args {
                    self.expr(arg);
                }
                self.blocks("job wait", site, method == "wait_timeout");
                return Vec::new();
            }
            _ => {}
        }
        if matches!(method.as_str(), "notify_one" | "notify_all") {
            let condvar = known_condvar(receiver_place);
            self.events.push(Event::Notify { condvar, site });
            return Vec::new();
        }
        // A rayon parallel iterator: its closures (and functions) are rayon's work, and
        // its consumer waits for them.
        let parallel = !awaited && in_parallel_chain(&call.receiver);
        for arg in call.args.iter().skip(walked) {
            if parallel {
                match arg {
                    Expr::Closure(c) => {
                        self.rayon_job(c, site);
                        continue;
                    }
                    Expr::Path(path) if self.rayon_job_fn(path) => continue,
                    _ => {}
                }
            }
            if let Expr::Closure(c) = arg {
                if RUNS_IN_PLACE.contains(&method.as_str()) {
                    self.closure_inline(c);
                    continue;
                }
            }
            let value = self.expr(arg);
            // A guard moved into a method is the method's to drop.
            self.end_guards(&value);
        }
        if parallel && PARALLEL_CONSUMERS.contains(&method.as_str()) {
            self.waits_for_rayon("rayon parallel iterator", site);
        }
        if !awaited {
            if method == "install" && call.args.len() == 1 {
                self.waits_for_rayon("install on a thread pool", site);
            }
            let blocking = match (method.as_str(), call.args.len()) {
                ("recv", 0) => Some("channel receive"),
                ("join", 0) => {
                    self.joined(&call.receiver);
                    Some("join")
                }
                // `wait()` is a barrier's only where the receiver is known to be one (a
                // getter named `wait` is common).
                ("wait", 0) if receiver_place == Some(Place::Barrier) => Some("barrier wait"),
                ("block_on", 1) => Some("block_on"),
                _ => None,
            };
            if let Some(what) = blocking {
                // `queue.lock().recv()`: the lock guards the receiver itself (consumers
                // take turns); only the other locks held are blocked on.
                let held = self
                    .live
                    .iter()
                    .filter(|l| !receiver_value.contains(&l.id))
                    .map(|l| l.held.clone())
                    .collect();
                self.events.push(Event::Block {
                    what,
                    site,
                    held,
                    bounded: false,
                    executor: None,
                });
            }
        }
        // A call to a method of the crate.
        let callee = match &receiver_place {
            Some(Place::Struct { ty, .. }) => {
                self.frame.index.method(self.frame.caller, ty, &method)
            }
            None => self.frame.index.trait_method(self.frame.caller, &method),
            _ => None,
        };
        if let Some(callee) = callee {
            let args = call.args.iter().map(|a| self.place(a)).collect();
            return self.call_event(callee, site, receiver_place, args);
        }
        Vec::new()
    }

    fn blocks(&mut self, what: &'static str, site: Span, bounded: bool) {
        self.events.push(Event::Block {
            what,
            site,
            held: self.held(),
            bounded,
            executor: None,
        });
    }

    /// A wait for rayon's work (a parallel iterator's result, `join`, `scope`,
    /// `install`): the waiting thread, if it is one of rayon's, runs other rayon work
    /// meanwhile; if not, it waits for threads that may need what it holds.
    fn waits_for_rayon(&mut self, what: &'static str, site: Span) {
        self.events.push(Event::Block {
            what,
            site,
            held: self.held(),
            bounded: false,
            executor: Some(RAYON.to_string()),
        });
    }

    /// A closure given to rayon as work: a body of its own, a worker of rayon.
    fn rayon_job(&mut self, c: &syn::ExprClosure, site: Span) {
        let at = self.spawned.len();
        self.spawned_closure(c, site);
        if let Some(body) = self.spawned.get_mut(at) {
            body.events.insert(
                0,
                Event::Serve {
                    executor: RAYON.to_string(),
                    site,
                },
            );
        }
    }

    /// A function named as rayon's work (`for_each(f)`).
    fn rayon_job_fn(&mut self, path: &syn::ExprPath) -> bool {
        let segments = segment_names(&path.path);
        match self.resolve_path_call(&segments) {
            Some(callee) => {
                self.events.push(Event::RunsOn {
                    executor: RAYON.to_string(),
                    callee,
                });
                true
            }
            None => false,
        }
    }

    /// An attribute role of the function being walked, as if its body began with it:
    /// `serves`/`job` make it a worker of the executor, `schedules` queues to it,
    /// `waits_for` waits for its work.
    pub fn role(&mut self, role: &str, executor: &str, site: Span) {
        if matches!(role, "acquires" | "releases") {
            // Seen at the calls: the caller holds the resource from one to the other.
            return;
        }
        let executor = executor.to_string();
        self.events.push(match role {
            "serves" | "job" => Event::Serve { executor, site },
            "schedules" => Event::Queue { executor, site },
            _ => Event::Block {
                what: "waits for an executor",
                site,
                held: Vec::new(),
                bounded: false,
                executor: Some(executor),
            },
        });
    }

    /// `handle.join()`: the thread `handle` was returned for ends here.
    fn joined(&mut self, receiver: &Expr) {
        let Expr::Path(path) = receiver else {
            return;
        };
        let Some(ident) = path.path.get_ident() else {
            return;
        };
        let Some(handle) = self.lookup(&ident.to_string()).and_then(|b| b.handle) else {
            return;
        };
        let now = self.events.len();
        if let Some((_, _, join @ None)) = self
            .spawned
            .get_mut(handle)
            .and_then(|b| b.started_by.as_mut())
        {
            *join = Some(now);
        }
    }

    /// The guards a name owns (`&mut g` passed to a wait).
    fn guards_named(&self, expr: &Expr) -> Vec<u32> {
        match expr {
            Expr::Path(path) if path.path.segments.len() == 1 => self
                .lookup(&path.path.segments[0].ident.to_string())
                .map(|b| b.guards.clone())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    fn call_event(
        &mut self,
        callee: usize,
        site: Span,
        receiver: Option<Place>,
        args: Vec<Option<Place>>,
    ) -> Vec<u32> {
        if let Some((lock, mode)) = self.frame.wrappers.get(&callee).cloned() {
            // A wrapper that hands out a guard: the lock is taken here, for the caller.
            if let Some(lock) = super::call_graph::into_caller(&lock, receiver.as_ref(), &args) {
                return vec![self.acquire(lock, mode, true, site)];
            }
        }
        self.events.push(Event::Call {
            callee,
            site,
            receiver,
            args,
            held: self.held(),
        });
        // `acquires = "gil"`: the caller holds the resource from this call until a call
        // of a `releases = "gil"` function (or its own end).
        for (role, name) in &self.frame.index.fns[callee].roles {
            match role.as_str() {
                "acquires" => {
                    let lock = LockRef {
                        class: name.clone(),
                        inst: Inst::new(Root::Static),
                        kind: LockKind::Mutex,
                        class_from_param: None,
                    };
                    let id = self.acquire(lock, Mode::Exclusive, true, site);
                    if let Some(live) = self.live.iter_mut().find(|l| l.id == id) {
                        live.owner = Owner::Bound(1);
                    }
                }
                "releases" => self.live.retain(|l| l.held.lock.class != *name),
                _ => {}
            }
        }
        Vec::new()
    }

    fn call(&mut self, call: &syn::ExprCall) -> Vec<u32> {
        let Expr::Path(path) = &*call.func else {
            self.expr(&call.func);
            for arg in &call.args {
                let value = self.expr(arg);
                self.end_guards(&value);
            }
            return Vec::new();
        };
        let segments = segment_names(&path.path);
        let last = segments.last().cloned().unwrap_or_default();
        let site = self.span(
            path.path
                .segments
                .last()
                .map_or(call.span(), |s| s.ident.span()),
        );
        let rayon = segments.first().is_some_and(|s| s == "rayon");
        if rayon && last == "join" {
            // `rayon::join(a, b)`: both closures are rayon's work; the caller waits.
            for arg in &call.args {
                match arg {
                    Expr::Closure(c) => self.rayon_job(c, site),
                    Expr::Path(path) if self.rayon_job_fn(path) => {}
                    other => {
                        self.expr(other);
                    }
                }
            }
            self.waits_for_rayon("rayon::join", site);
            return Vec::new();
        }
        if (last.starts_with("spawn") || last == "scope") && segments.len() <= 3 {
            if let Some(Expr::Closure(c)) = call.args.iter().find(|a| matches!(a, Expr::Closure(_)))
            {
                if rayon && last != "scope" {
                    self.rayon_job(c, site);
                    return Vec::new();
                }
                if last == "scope" {
                    // `thread::scope(|s| ..)`: the closure runs here; what it spawns
                    // runs on other threads (seen by `s.spawn`), joined when it returns.
                    let spawned_before = self.spawned.len();
                    self.closure_inline(c);
                    let end = self.events.len();
                    for body in &mut self.spawned[spawned_before..] {
                        if let Some((_, _, join @ None)) = &mut body.started_by {
                            *join = Some(end);
                        }
                        if rayon {
                            // What a rayon scope spawns is rayon's work.
                            body.events.insert(
                                0,
                                Event::Serve {
                                    executor: RAYON.to_string(),
                                    site,
                                },
                            );
                        }
                    }
                    if rayon {
                        self.waits_for_rayon("rayon::scope", site);
                    }
                } else {
                    self.spawned_closure(c, site);
                }
                return Vec::new();
            }
        }
        let values: Vec<Vec<u32>> = call.args.iter().map(|a| self.expr(a)).collect();
        let moved: Vec<u32> = values.iter().flatten().copied().collect();
        if last == "drop" {
            self.end_guards(&moved);
            return Vec::new();
        }
        // Constructors and wrappers keep what they are given (`Some(g)`, `Box::new(g)`).
        let constructor = last.chars().next().is_some_and(char::is_uppercase)
            || (last == "new" && segments.len() >= 2)
            || matches!(last.as_str(), "from" | "identity");
        if constructor {
            return moved;
        }
        self.end_guards(&moved);
        // waitgraph's spin-waits: `SpinWait::on(&target)` spins until another thread
        // acts; `SpinWait::bounded` gives up after a while.
        let spin = segments.len() >= 2 && segments[segments.len() - 2] == "SpinWait";
        if (spin && matches!(last.as_str(), "on" | "bounded")) || last == "spin_until" {
            self.blocks("spin-wait", site, last == "bounded");
            return Vec::new();
        }
        if last == "sleep" {
            self.blocks("sleep", site, true);
            return Vec::new();
        }
        if last == "block_on" {
            self.blocks("block_on", site, false);
            return Vec::new();
        }
        let callee = self.resolve_path_call(&segments);
        if let Some(callee) = callee {
            let args: Vec<Option<Place>> = call.args.iter().map(|a| self.place(a)).collect();
            let is_method = self.frame.index.fns[callee]
                .params
                .first()
                .is_some_and(|(name, _)| name == "self");
            // `Type::method(&x, ..)`: the first argument is the receiver.
            let (receiver, args) = if is_method && !args.is_empty() {
                let mut args = args;
                let receiver = args.remove(0);
                (receiver, args)
            } else {
                (None, args)
            };
            return self.call_event(callee, site, receiver, args);
        }
        Vec::new()
    }

    fn resolve_path_call(&self, segments: &[String]) -> Option<usize> {
        let index = self.frame.index;
        let caller = self.frame.caller;
        let name = segments.last()?;
        if segments.len() == 1 {
            if self.lookup(name).is_some() {
                return None;
            }
            return index.free_fn(caller, self.frame.module, name);
        }
        let owner = &segments[segments.len() - 2];
        if owner == "Self" {
            return index.method(caller, self.frame.owner.as_deref()?, name);
        }
        if owner.chars().next().is_some_and(char::is_uppercase) {
            return index.method(caller, owner, name);
        }
        index.qualified_fn(
            caller,
            self.frame.module,
            &segments[..segments.len() - 1],
            name,
        )
    }
}

/// The place a name of some shape is: `class` names the lock, condvar or field;
/// `class_from_param` is set for a parameter that is itself a lock.
fn place_for(
    class: String,
    inst: Inst,
    shape: &Shape,
    class_from_param: Option<usize>,
) -> Option<Place> {
    match shape {
        Shape::Lock(kind) => Some(Place::Lock(LockRef {
            class,
            inst,
            kind: *kind,
            class_from_param,
        })),
        Shape::Locks(kind) => Some(Place::Locks(LockRef {
            class: format!("{class}[]"),
            inst,
            kind: *kind,
            class_from_param: None,
        })),
        Shape::Condvar => Some(Place::Condvar {
            class,
            from_param: class_from_param.is_some(),
        }),
        Shape::Barrier => Some(Place::Barrier),
        Shape::Executor => Some(Place::Executor(class)),
        Shape::Job => Some(Place::Job),
        Shape::Struct(ty) => Some(Place::Struct {
            inst,
            ty: ty.clone(),
        }),
        Shape::Other => None,
    }
}

/// The class of a condvar the receiver names, unless it is a parameter's (whose class
/// is the caller's).
fn known_condvar(place: Option<Place>) -> Option<String> {
    match place {
        Some(Place::Condvar {
            class,
            from_param: false,
        }) => Some(class),
        _ => None,
    }
}

/// The names of a path's segments (`std::thread::spawn` → `std`, `thread`, `spawn`).
fn segment_names(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// `let PAT = EXPR` in a condition (also the first `let` of a chain).
fn let_of(cond: &Expr) -> (Option<&Pat>, &Expr) {
    match cond {
        Expr::Let(l) => (Some(&l.pat), &l.expr),
        _ => (None, cond),
    }
}

/// Whether a pattern can hold a lock attempt's guard: it binds a name, and is not
/// `None` or `Err(..)`.
fn binds_a_guard(pat: &Pat) -> bool {
    let last = |path: &syn::Path| path.segments.last().map(|s| s.ident.to_string());
    match pat {
        Pat::TupleStruct(t) if matches!(last(&t.path).as_deref(), Some("Err" | "None")) => false,
        Pat::Path(p) if matches!(last(&p.path).as_deref(), Some("None")) => false,
        Pat::Ident(i) if i.ident == "None" => false,
        _ => {
            let mut names = Vec::new();
            pattern_names(pat, &mut names);
            !names.is_empty()
        }
    }
}

fn single_name(pat: &Pat) -> Option<String> {
    match pat {
        Pat::Ident(ident) => Some(ident.ident.to_string()),
        Pat::Type(typed) => single_name(&typed.pat),
        _ => None,
    }
}

/// The names a pattern binds (not `_`).
fn pattern_names(pat: &Pat, names: &mut Vec<String>) {
    match pat {
        Pat::Ident(ident) => {
            names.push(ident.ident.to_string());
            if let Some((_, sub)) = &ident.subpat {
                pattern_names(sub, names);
            }
        }
        Pat::Type(typed) => pattern_names(&typed.pat, names),
        Pat::Reference(r) => pattern_names(&r.pat, names),
        Pat::Paren(p) => pattern_names(&p.pat, names),
        Pat::Tuple(t) => t.elems.iter().for_each(|p| pattern_names(p, names)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| pattern_names(p, names)),
        Pat::Slice(s) => s.elems.iter().for_each(|p| pattern_names(p, names)),
        Pat::Or(o) => {
            if let Some(first) = o.cases.first() {
                pattern_names(first, names);
            }
        }
        Pat::Struct(s) => s.fields.iter().for_each(|f| pattern_names(&f.pat, names)),
        _ => {}
    }
}

/// An index expression that names the same element each time it is written (a name, a
/// literal, a field of `self`): its tokens; anything else is not comparable.
fn simple_tokens(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lit(_) | Expr::Path(_) => Some(quote::ToTokens::to_token_stream(expr).to_string()),
        Expr::Field(f) => simple_tokens(&f.base)
            .map(|base| format!("{base}.{}", quote::ToTokens::to_token_stream(&f.member))),
        _ => None,
    }
}

/// The kind of lock a `Place::Lock` is (for tests and printers).
pub fn kind_of(place: &Place) -> Option<LockKind> {
    match place {
        Place::Lock(lock) | Place::Locks(lock) => Some(lock.kind),
        _ => None,
    }
}
