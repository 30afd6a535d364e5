//! Generating: the function with its context entered first, and the calls in its body
//! on std, parking_lot and waitgraph primitives routed through `waitgraph::__macro_support`.
//!
//! | call in the body | arity | group | receiver taken |
//! |---|---|---|---|
//! | `lock`, `try_lock` | 0 | `Lock` | `&` |
//! | `read`, `write`, `try_read`, `try_write`, `upgradable_read` | 0 | `ReadWrite` | `&` |
//! | `wait`, `wait_while`, `wait_timeout`, `wait_for`, `wait_until` | 1-2 | `Condvar` | `&` |
//! | `wait_timeout_while`, `wait_while_for`, `wait_while_until` | 3 | `Condvar` | `&` |
//! | `notify_one`, `notify_all` | 0 | `Condvar` | `&` |
//! | `wait` | 0 | `Barrier` | `&` |
//! | `send` | 1 | `Send` | `&` |
//! | `recv`, `recv_timeout` | 0-1 | `Recv` | `&` |
//! | `join` | 0 | `Join` | by value |
//! | `*Guard::upgrade`, `try_upgrade`, `downgrade`, `downgrade_to_upgradable` (path calls) | 1 | `Transition` | the guard, by value |
//!
//! A call with a closure argument is made by its own name on the token's receiver, so
//! the closure is typed by a real signature in both branches.
//!
//! Each rewritten call is one expression: no temporaries move, nothing is evaluated twice
//! (see the support module for the selection it relies on).

use crate::attr::Args;
use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, ExprCall, ExprMethodCall, Ident, ItemFn, LitStr, Macro, Stmt, Token, UnOp};

/// Every method of an `impl` block the attribute is on: each as a function, its
/// context named `module::Type::method`.
pub fn implementation(methods: crate::attr::Methods) -> TokenStream {
    let crate::attr::Methods {
        mut implementation,
        owner,
        methods,
    } = methods;
    for (index, args) in methods {
        let syn::ImplItem::Fn(method) = &implementation.items[index] else {
            continue;
        };
        let function = ItemFn {
            attrs: method.attrs.clone(),
            vis: method.vis.clone(),
            sig: method.sig.clone(),
            block: Box::new(method.block.clone()),
        };
        let expanded = function_of(&args, function, Some(&owner));
        if let Ok(method) = syn::parse2::<syn::ImplItemFn>(expanded) {
            implementation.items[index] = syn::ImplItem::Fn(method);
        }
    }
    implementation.into_token_stream()
}

/// The instrumented function.
pub fn function(args: &Args, function: ItemFn) -> TokenStream {
    function_of(args, function, None)
}

/// The instrumented function; `owner` is the type of the `impl` block it is in, when the
/// attribute is on the block.
fn function_of(args: &Args, mut function: ItemFn, owner: Option<&str>) -> TokenStream {
    let support = quote!(::waitgraph::__macro_support);
    let ident = function.sig.ident.clone();
    let span = ident.span();
    let name = match (&args.name, owner) {
        (Some(name), _) => name.to_token_stream(),
        (None, Some(owner)) => {
            let ident = ident.to_string();
            quote!(::core::concat!(::core::module_path!(), "::", #owner, "::", #ident))
        }
        (None, None) => {
            let ident = ident.to_string();
            quote!(::core::concat!(::core::module_path!(), "::", #ident))
        }
    };
    let roles = roles(args);
    let mut rewriter = Rewriter {
        function: ident.to_string(),
        rewritten: 0,
        barrier_waits: 0,
        // A function declared to return a lock guard returns the original guard type.
        keep_types: names_a_guard_type(&function.sig.output),
        guards: Vec::new(),
        reassigned: reassigned_locals(&function.block),
        notifies: Vec::new(),
        notify_sites: Vec::new(),
        closures: 0,
    };
    rewriter.visit_block_mut(&mut function.block);
    if rewriter.barrier_waits > 0 {
        // A `child.wait()` becomes two branches, only one of which waits: clippy's
        // zombie-process check would blame the program for the branch never taken.
        function
            .attrs
            .push(syn::parse_quote!(#[allow(clippy::zombie_processes)]));
    }
    // The condvars the body notifies: a thread in it that has not notified yet is who
    // their waiters wait for.
    let notifies = &rewriter.notifies;
    let context = if notifies.is_empty() {
        quote!(::waitgraph::context::Context::new(#name, ::core::file!(), ::core::line!()))
    } else {
        quote!(::waitgraph::context::Context::notifying(
            #name, ::core::file!(), ::core::line!(),
            &[#((::core::module_path!(), #notifies)),*],
        ))
    };
    // Every notify in the body, closures included, in the program-wide list.
    let sites = &rewriter.notify_sites;
    let notify_sites = (!sites.is_empty()).then(|| {
        quote! {
            #[#support::linkme::distributed_slice(#support::NOTIFY_SITES)]
            #[linkme(crate = #support::linkme)]
            static __WG_NOTIFY_SITES: &[(&str, &str)] =
                &[#((::core::module_path!(), #sites)),*];
        }
    });
    let statements = &function.block.stmts;
    let scope = Ident::new("__wg_scope", Span::mixed_site());
    let body = quote_spanned! {span=>
        {
            static __WG_FUNCTION: #support::Function = #support::Function {
                context: #context,
                roles: #roles,
            };
            #notify_sites
            // The body is the arm of a match on the scope, so the scope is dropped after
            // the temporaries of the body's tail expression (a guard among them).
            match #support::enter(&__WG_FUNCTION) {
                #scope => {
                    #(#statements)*
                }
            }
        }
    };
    function.block = Box::new(syn::parse2(body).expect("a generated block parses"));
    function.into_token_stream()
}

fn roles(args: &Args) -> TokenStream {
    let support = quote!(::waitgraph::__macro_support);
    let role = |value: &Option<LitStr>| match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    };
    let (acquires, releases, waits_for) = (
        role(&args.acquires),
        role(&args.releases),
        role(&args.waits_for),
    );
    let (schedules, job, serves) = (role(&args.schedules), role(&args.job), role(&args.serves));
    quote! {
        #support::Roles {
            acquires: #acquires,
            releases: #releases,
            waits_for: #waits_for,
            schedules: #schedules,
            job: #job,
            serves: #serves,
        }
    }
}

/// How one method name is instrumented.
struct Operation {
    group: &'static str,
    /// The support method (a barrier's `wait` is `barrier_wait`).
    name: &'static str,
    /// The receiver is taken by value (`join`).
    by_value: bool,
}

fn operation(method: &str, arity: usize) -> Option<Operation> {
    let (group, name, by_value) = match (method, arity) {
        ("lock", 0) => ("Lock", "lock", false),
        ("try_lock", 0) => ("Lock", "try_lock", false),
        ("read", 0) => ("ReadWrite", "read", false),
        ("write", 0) => ("ReadWrite", "write", false),
        ("try_read", 0) => ("ReadWrite", "try_read", false),
        ("try_write", 0) => ("ReadWrite", "try_write", false),
        ("upgradable_read", 0) => ("ReadWrite", "upgradable_read", false),
        ("wait", 1) => ("Condvar", "wait", false),
        ("wait_while", 2) => ("Condvar", "wait_while", false),
        ("wait_timeout", 2) => ("Condvar", "wait_timeout", false),
        ("wait_for", 2) => ("Condvar", "wait_for", false),
        ("wait_until", 2) => ("Condvar", "wait_until", false),
        ("wait_timeout_while", 3) => ("Condvar", "wait_timeout_while", false),
        ("wait_while_for", 3) => ("Condvar", "wait_while_for", false),
        ("wait_while_until", 3) => ("Condvar", "wait_while_until", false),
        ("notify_one", 0) => ("Condvar", "notify_one", false),
        ("notify_all", 0) => ("Condvar", "notify_all", false),
        ("wait", 0) => ("Barrier", "barrier_wait", false),
        ("send", 1) => ("Send", "send", false),
        ("recv", 0) => ("Recv", "recv", false),
        ("recv_timeout", 1) => ("Recv", "recv_timeout", false),
        ("join", 0) => ("Join", "join", true),
        ("call_once", 1) => ("Once", "call_once", false),
        ("call_once_force", 1) => ("Once", "call_once_force", false),
        ("get_or_init", 1) => ("Once", "get_or_init", false),
        _ => return None,
    };
    Some(Operation {
        group,
        name,
        by_value,
    })
}

/// Macros whose arguments are plain expressions, so calls inside them can be rewritten.
const EXPRESSION_MACROS: &[&str] = &[
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "dbg",
    "eprint",
    "eprintln",
    "format",
    "format_args",
    "panic",
    "print",
    "println",
    "todo",
    "unimplemented",
    "unreachable",
    "vec",
    "write",
    "writeln",
];

/// The opt-out: `waitgraph::uninstrumented!(expr)` keeps `expr` exactly as written.
const OPT_OUT: &str = "uninstrumented";

struct Rewriter {
    /// The instrumented function's name, for the class of locals it locks.
    function: String,
    rewritten: usize,
    /// Zero-argument `wait()` calls rewritten (a barrier's, or a child process's).
    barrier_waits: usize,
    /// Acquires here must give the original guard type (their value flows where a std
    /// or parking_lot guard type is written): the wait is published, the hold is not
    /// kept in the record.
    keep_types: bool,
    /// Locals bound from an acquire (`let guard = m.lock().unwrap();`): passed by value
    /// to a call, they are handed over as the original guard.
    guards: Vec<Ident>,
    /// Locals assigned a value that is not an instrumented wait's (`guard = f(guard)`):
    /// a guard bound to one keeps the original type, or the assignment would not fit.
    reassigned: Vec<Ident>,
    /// The receivers of the `notify_one` / `notify_all` calls in the body, as written
    /// (not in closures: a closure may run on another thread, which is then the notifier).
    notifies: Vec<String>,
    /// The same in closures too: where the program notifies at all, gathered at link
    /// time so that a condvar no instrumented code notifies can be told apart.
    notify_sites: Vec<String>,
    /// How many closures deep the visit is.
    closures: usize,
}

/// The locals `block` assigns from anything but an instrumented condvar wait (whose
/// value is the guard it was given, the attribute's included).
fn reassigned_locals(block: &syn::Block) -> Vec<Ident> {
    struct Assignments(Vec<Ident>);
    impl<'a> syn::visit::Visit<'a> for Assignments {
        fn visit_expr_assign(&mut self, assign: &'a syn::ExprAssign) {
            syn::visit::visit_expr_assign(self, assign);
            let Expr::Path(target) = &*assign.left else {
                return;
            };
            let Some(ident) = target.path.get_ident() else {
                return;
            };
            let mut value = &*assign.right;
            while let Expr::Try(syn::ExprTry { expr, .. }) = value {
                value = expr;
            }
            loop {
                match value {
                    Expr::MethodCall(call)
                        if ["unwrap", "expect"].contains(&&*call.method.to_string()) =>
                    {
                        value = &call.receiver
                    }
                    Expr::Try(try_) => value = &try_.expr,
                    _ => break,
                }
            }
            let from_a_wait = matches!(value, Expr::MethodCall(call)
                if operation(&call.method.to_string(), call.args.len())
                    .is_some_and(|op| op.group == "Condvar"));
            if !from_a_wait {
                self.0.push(ident.clone());
            }
        }
        fn visit_item(&mut self, _item: &'a syn::Item) {}
    }
    let mut assignments = Assignments(Vec::new());
    syn::visit::Visit::visit_block(&mut assignments, block);
    assignments.0
}

/// Guard types written in signatures and `let` annotations (std's, parking_lot's,
/// lock_api's): a value that must have one of them cannot be the attribute's guard.
const GUARD_TYPES: &[&str] = &[
    "MutexGuard",
    "RwLockReadGuard",
    "RwLockWriteGuard",
    "RwLockUpgradableReadGuard",
    "MappedMutexGuard",
    "MappedRwLockReadGuard",
    "MappedRwLockWriteGuard",
    "LockResult",
    "TryLockResult",
];

/// Whether a type (or a return type) names one of `GUARD_TYPES` anywhere in it, and not
/// the attribute's own guard (`InstrumentedGuard<MutexGuard<..>>` is what it makes).
fn names_a_guard_type(ty: &impl ToTokens) -> bool {
    fn names(tokens: proc_macro2::TokenStream, wanted: &dyn Fn(&Ident) -> bool) -> bool {
        tokens.into_iter().any(|tree| match tree {
            proc_macro2::TokenTree::Ident(ident) => wanted(&ident),
            proc_macro2::TokenTree::Group(group) => names(group.stream(), wanted),
            _ => false,
        })
    }
    let tokens = ty.to_token_stream();
    names(tokens.clone(), &|ident| {
        GUARD_TYPES.iter().any(|name| ident == name)
    }) && !names(tokens, &|ident| ident == "InstrumentedGuard")
}

/// The local a `let` binds, if the value is an acquire (`m.lock()`, possibly followed by
/// `.unwrap()`, `.expect(..)`, `?`).
fn bound_guard(local: &syn::Local) -> Option<Ident> {
    let syn::Pat::Ident(binding) = &local.pat else {
        return None;
    };
    is_acquire(&local.init.as_ref()?.expr).then(|| binding.ident.clone())
}

/// Whether `value` is an acquire (`m.lock()`, `t.write()`), possibly followed by
/// `.unwrap()`, `.expect(..)` or `?`: its value is a guard the attribute makes.
fn is_acquire(mut value: &Expr) -> bool {
    loop {
        match value {
            Expr::Try(try_) => value = &try_.expr,
            Expr::MethodCall(call) if ["unwrap", "expect"].contains(&&*call.method.to_string()) => {
                value = &call.receiver
            }
            Expr::MethodCall(call) => {
                let method = call.method.to_string();
                return operation(&method, call.args.len())
                    .is_some_and(|op| op.group == "Lock" || op.group == "ReadWrite");
            }
            _ => return false,
        }
    }
}

/// Which of the values a call, a struct literal or a tuple is made of are acquires
/// (seen before they are rewritten).
fn acquired_values(expr: &Expr) -> Vec<bool> {
    let values: Vec<&Expr> = match expr {
        Expr::Call(call) => call.args.iter().collect(),
        Expr::MethodCall(call) => call.args.iter().collect(),
        Expr::Struct(literal) => literal.fields.iter().map(|field| &field.expr).collect(),
        Expr::Tuple(tuple) => tuple.elems.iter().collect(),
        Expr::Array(array) => array.elems.iter().collect(),
        _ => Vec::new(),
    };
    values.into_iter().map(is_acquire).collect()
}

impl VisitMut for Rewriter {
    /// A nested item is a function of its own, instrumented only if annotated itself.
    fn visit_item_mut(&mut self, _item: &mut syn::Item) {}

    fn visit_stmt_mut(&mut self, stmt: &mut Stmt) {
        match stmt {
            Stmt::Macro(statement) => self.visit_macro_mut(&mut statement.mac),
            Stmt::Local(local) => {
                let guard = bound_guard(local);
                let reassigned = guard.as_ref().is_some_and(|g| self.reassigned.contains(g));
                if let Some(guard) = guard {
                    self.guards.push(guard);
                }
                let typed_as_a_guard = match &local.pat {
                    syn::Pat::Type(typed) => names_a_guard_type(&typed.ty),
                    _ => false,
                };
                let outer = self.keep_types;
                self.keep_types |= typed_as_a_guard || reassigned;
                visit_mut::visit_local_mut(self, local);
                self.keep_types = outer;
            }
            _ => visit_mut::visit_stmt_mut(self, stmt),
        }
    }

    fn visit_macro_mut(&mut self, mac: &mut Macro) {
        let Some(name) = mac.path.segments.last().map(|s| s.ident.to_string()) else {
            return;
        };
        let opted_out = name == OPT_OUT;
        if !opted_out && !EXPRESSION_MACROS.contains(&name.as_str()) {
            return;
        }
        let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
        let Ok(mut arguments) = parser.parse2(mac.tokens.clone()) else {
            return;
        };
        let (before, outer) = (self.rewritten, self.keep_types);
        // Opted out: the expression keeps every type as written; a wait it blocks in is
        // still published (a hang there is at least a stall), no hold is kept.
        self.keep_types |= opted_out;
        for argument in arguments.iter_mut() {
            self.visit_expr_mut(argument);
        }
        self.keep_types = outer;
        if self.rewritten != before {
            mac.tokens = arguments.into_token_stream();
        }
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::Closure(closure) = expr {
            // A closure's return type written as a guard type: its body keeps types.
            let outer = self.keep_types;
            self.keep_types |= names_a_guard_type(&closure.output);
            self.closures += 1;
            visit_mut::visit_expr_mut(self, expr);
            self.closures -= 1;
            self.keep_types = outer;
            return;
        }
        let acquired = acquired_values(expr);
        visit_mut::visit_expr_mut(self, expr);
        if let Expr::MethodCall(call) = expr {
            let barrier_wait = call.method == "wait" && call.args.is_empty();
            let notify = call.method == "notify_one" || call.method == "notify_all";
            if notify && call.args.is_empty() {
                let text = receiver_text(&call.receiver);
                if self.closures == 0 && !self.notifies.contains(&text) {
                    self.notifies.push(text.clone());
                }
                if !self.notify_sites.contains(&text) {
                    self.notify_sites.push(text);
                }
            }
            if let Some(rewritten) = rewrite(call, &self.function, self.keep_types) {
                *expr = rewritten;
                self.rewritten += 1;
                self.barrier_waits += usize::from(barrier_wait);
            } else {
                self.hand_over_guards(call.args.iter_mut(), &acquired);
            }
        } else if let Expr::Call(call) = expr {
            if let Some(rewritten) = rewrite_transition(call, &self.function) {
                *expr = rewritten;
                self.rewritten += 1;
            } else {
                self.hand_over_guards(call.args.iter_mut(), &acquired);
            }
        } else if let Expr::Struct(literal) = expr {
            // A field's type may be the original guard's.
            let fields = literal.fields.iter_mut().map(|field| &mut field.expr);
            self.hand_over_guards(fields, &acquired);
        } else if let (Expr::Tuple(syn::ExprTuple { elems, .. }), true)
        | (Expr::Array(syn::ExprArray { elems, .. }), true) =
            (&mut *expr, self.keep_types)
        {
            // Elements of a value whose written type names a guard.
            self.hand_over_guards(elems.iter_mut(), &acquired);
        } else if let Expr::Assign(assign) = expr {
            // `holder.guard = guard`: the place's type may be the original guard's; a
            // local bound from an acquire keeps the attribute's guard.
            let to_a_guard_local = matches!(&*assign.left, Expr::Path(path)
                if path.path.get_ident().is_some_and(|i| self.guards.contains(i)));
            if !to_a_guard_local {
                self.hand_over_guard(&mut assign.right, false);
            }
        } else if let Expr::Return(ret) = expr {
            // `return guard;` under a declared guard type.
            if self.keep_types {
                if let Some(value) = ret.expr.as_mut() {
                    self.hand_over_guard(value, false);
                }
            }
        }
    }

    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        visit_mut::visit_block_mut(self, block);
        // A block's value, under a declared guard type (a function's tail `guard`).
        if self.keep_types {
            if let Some(Stmt::Expr(tail, None)) = block.stmts.last_mut() {
                self.hand_over_guard(tail, false);
            }
        }
    }
}

impl Rewriter {
    /// Arguments that are acquires, or locals bound from one: the callee's parameter may
    /// be written as the original guard type, which the attribute's guard is not. They
    /// are handed over as the original guard (the attribute's guard only; any other value
    /// passes unchanged), and the hold leaves the record there: a missed edge at worst.
    /// `acquired` says which values were acquires before they were rewritten.
    fn hand_over_guards<'e>(
        &mut self,
        values: impl Iterator<Item = &'e mut Expr>,
        acquired: &[bool],
    ) {
        for (index, value) in values.enumerate() {
            self.hand_over_guard(value, acquired.get(index).copied().unwrap_or(false));
        }
    }

    fn hand_over_guard(&mut self, value: &mut Expr, acquired: bool) {
        let support = quote!(::waitgraph::__macro_support);
        let token = Ident::new("__wg_handover", Span::mixed_site());
        let hand_over = |place: &Ident| {
            quote! {{
                #[allow(unused_imports)]
                use #support::{HandOver as _, PassAsIs as _};
                let #token = (&&#support::probe::<#support::group::Pass, _>(|| &#place)).__wg_pass();
                #token.pass(#place)
            }}
        };
        let handed = match &*value {
            Expr::Path(path) if path.qself.is_none() => {
                let Some(ident) = path.path.get_ident() else {
                    return;
                };
                if !self.guards.contains(ident) {
                    return;
                }
                hand_over(ident)
            }
            _ if acquired => {
                // The acquire's value, bound for the hand-over (its temporaries live to
                // the end of the match, as they would to the end of the call).
                let bound = Ident::new("__wg_acquired", Span::mixed_site());
                let handed = hand_over(&bound);
                quote!(match #value { #bound => #handed })
            }
            _ => return,
        };
        *value = syn::parse2(handed).expect("a handed-over guard parses");
        self.rewritten += 1;
    }
}

/// Whether evaluating `expr` only names a place (no call, no side effect), so it can be
/// written more than once: the type probe names it without evaluating it.
fn is_place(expr: &Expr) -> bool {
    match expr {
        Expr::Path(path) => path.qself.is_none(),
        Expr::Field(field) => is_place(&field.base),
        Expr::Paren(paren) => is_place(&paren.expr),
        Expr::Unary(unary) => matches!(unary.op, UnOp::Deref(_)) && is_place(&unary.expr),
        Expr::Index(index) => {
            is_place(&index.expr) && matches!(&*index.index, Expr::Lit(_) | Expr::Path(_))
        }
        _ => false,
    }
}

/// Whether the receiver is rooted in `self` (its class is then named after `Self`).
fn rooted_in_self(expr: &Expr) -> bool {
    match expr {
        Expr::Path(path) => path.path.is_ident("self"),
        Expr::Field(field) => rooted_in_self(&field.base),
        Expr::Paren(paren) => rooted_in_self(&paren.expr),
        Expr::Unary(unary) => rooted_in_self(&unary.expr),
        Expr::Index(index) => rooted_in_self(&index.expr),
        Expr::MethodCall(call) => rooted_in_self(&call.receiver),
        _ => false,
    }
}

/// The receiver as reports name it: its source text without spaces.
fn receiver_text(expr: &Expr) -> String {
    expr.to_token_stream()
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn rewrite(call: &ExprMethodCall, function: &str, keep_types: bool) -> Option<Expr> {
    if call.turbofish.is_some() {
        return None;
    }
    let operation = operation(&call.method.to_string(), call.args.len())?;
    let receiver = &*call.receiver;
    if matches!(receiver, Expr::Macro(_)) {
        // A macro may expand to a place or a value: it cannot be classified.
        return None;
    }
    let place_receiver = is_place(receiver);
    let support = quote!(::waitgraph::__macro_support);
    let hygienic = |name: &str| Ident::new(name, Span::mixed_site());
    let (token, bound) = (hygienic("__wg_token"), hygienic("__wg_recv"));
    // The receiver as a place: as written, or the binding of its value.
    let place = if place_receiver {
        quote!((#receiver))
    } else if operation.by_value {
        quote!(#bound)
    } else {
        quote!((*#bound))
    };
    // Arguments are evaluated once, in order, before the call; closures stay in place so
    // the call's signature still gives their parameter types.
    let mut bindings = Vec::new();
    let mut values = Vec::new();
    let mut arguments = Vec::new();
    let has_closure = call
        .args
        .iter()
        .any(|argument| matches!(argument, Expr::Closure(_)));
    for (index, argument) in call.args.iter().enumerate() {
        if matches!(argument, Expr::Closure(_)) {
            arguments.push(argument.to_token_stream());
        } else {
            let name = hygienic(&format!("__wg_arg{index}"));
            bindings.push(name.clone());
            values.push(argument.clone());
            arguments.push(name.to_token_stream());
        }
    }
    let method = &call.method;
    let site = method.span();
    let group = Ident::new(operation.group, Span::call_site());
    let op = Ident::new(operation.name, site);
    let text = receiver_text(receiver);
    let owner = if rooted_in_self(receiver) {
        quote!(::core::option::Option::Some(::core::any::type_name::<Self>))
    } else {
        quote!(::core::option::Option::None)
    };
    let taken = if operation.by_value {
        quote!(#place)
    } else {
        quote!(&#place)
    };
    // Spanned at the method name: `#[track_caller]` then reports the call's own site.
    let instrumented = if has_closure {
        // A closure argument is typed by the signature of the method it is passed to:
        // called by its own name on the token's receiver, it meets the instrumented
        // method's signature, or (the branch never taken) the original's.
        quote_spanned! {site=>
            #token.receiver(#taken, &__WG_AT, #owner).#method(#(#arguments),*)
        }
    } else {
        quote_spanned! {site=>
            #token.#op(#taken, #(#arguments,)* &__WG_AT, #owner)
        }
    };
    // A condvar wait's guard is the attribute's own type: the original call's branch
    // (type-checked, never taken when the condvar is instrumented) sees it unwrapped.
    let mut original_arguments = arguments.clone();
    if operation.group == "Condvar" && !original_arguments.is_empty() {
        let guard = &original_arguments[0];
        original_arguments[0] = quote!(#token.guard_arg(#guard));
    }
    let original = quote_spanned!(site=> #place.#method(#(#original_arguments),*));
    let acquire = operation.group == "Lock" || operation.group == "ReadWrite";
    let instrumented = if keep_types && acquire {
        quote_spanned!(site=> #support::original(#instrumented))
    } else {
        instrumented
    };
    let mut expansion = quote! {{
        #[allow(unused_imports)]
        use #support::{Select0 as _, Select1 as _, Select2 as _, Select3 as _, Select4 as _};
        static __WG_AT: #support::Receiver = #support::Receiver {
            module: ::core::module_path!(),
            function: #function,
            text: #text,
        };
        let #token = (&&&&&#support::probe::<#support::group::#group, _>(|| &#place)).__wg_select();
        if #token.via() {
            #token.instrumented(#instrumented)
        } else {
            #token.as_written(#original)
        }
    }};
    if !bindings.is_empty() {
        expansion = quote! {
            match (#(#values,)*) {
                (#(#bindings,)*) => #expansion
            }
        };
    }
    if !place_receiver {
        // The value lives in the match's scrutinee until the end of the enclosing
        // statement, as the original call's receiver would.
        let pattern = if operation.by_value {
            quote!(#bound)
        } else {
            quote!(ref mut #bound)
        };
        expansion = quote! {
            match #receiver {
                #pattern => #expansion
            }
        };
    }
    // The outermost token carries the receiver's span, so a type error about the call's
    // result (a guard returned as std's type) points at the call, not at the attribute.
    let anchor = receiver
        .to_token_stream()
        .into_iter()
        .next()
        .map_or(site, |t| t.span());
    Some(syn::parse2(anchored(expansion, anchor)).expect("a generated call parses"))
}

/// parking_lot's guard transitions, written as path calls on a guard type
/// (`RwLockUpgradableReadGuard::upgrade(guard)`): on the attribute's own guards they move
/// the hold's record with the guard; on any other guard they stay as written.
fn rewrite_transition(call: &ExprCall, function_name: &str) -> Option<Expr> {
    let Expr::Path(function) = &*call.func else {
        return None;
    };
    let segments = &function.path.segments;
    if function.qself.is_some() || segments.len() < 2 {
        return None;
    }
    // Only on guard types (`RwLockUpgradableReadGuard::upgrade`), never `Arc::downgrade`;
    // and lazy values' `force` (`LazyLock::force(&CONFIG)`).
    let owner = segments[segments.len() - 2].ident.to_string();
    let name = &segments.last()?.ident;
    let transition = matches!(
        name.to_string().as_str(),
        "upgrade" | "try_upgrade" | "downgrade" | "downgrade_to_upgradable"
    );
    let force = name == "force" && (owner == "LazyLock" || owner == "Lazy");
    if !(owner.ends_with("Guard") && transition || force) || call.args.len() != 1 {
        return None;
    }
    let group = Ident::new(
        if force { "Force" } else { "Transition" },
        Span::call_site(),
    );
    let support = quote!(::waitgraph::__macro_support);
    let hygienic = |name: &str| Ident::new(name, Span::mixed_site());
    let token = hygienic("__wg_token");
    let guard = hygienic("__wg_arg0");
    let value = &call.args[0];
    let site = name.span();
    let operation = Ident::new(&name.to_string(), site);
    let instrumented = if force {
        quote_spanned!(site=> #token.#operation(#guard, &__WG_AT))
    } else {
        quote_spanned!(site=> #token.#operation(#guard))
    };
    let original = quote_spanned!(site=> #function(#token.guard_arg(#guard)));
    // What reports name a forced value by: the argument as written (`CONFIG` for
    // `&CONFIG`).
    let text = receiver_text(value);
    let text = text.trim_start_matches('&');
    let at = force.then(|| {
        quote! {
            static __WG_AT: #support::Receiver = #support::Receiver {
                module: ::core::module_path!(),
                function: #function_name,
                text: #text,
            };
        }
    });
    let expansion = quote! {
        match #value {
            #guard => {
                #at
                #[allow(unused_imports)]
                use #support::{Select0 as _, Select1 as _, Select2 as _, Select3 as _, Select4 as _};
                let #token = (&&&&&#support::probe::<#support::group::#group, _>(|| &#guard)).__wg_select();
                if #token.via() {
                    #token.instrumented(#instrumented)
                } else {
                    #token.as_written(#original)
                }
            }
        }
    };
    let anchor = function
        .to_token_stream()
        .into_iter()
        .next()
        .map_or(site, |t| t.span());
    Some(syn::parse2(anchored(expansion, anchor)).expect("a generated call parses"))
}

/// `tokens` with its first and last token trees (a block's braces, or a `match` keyword
/// and its arms) placed at `span`: the span the expression as a whole is reported at.
fn anchored(tokens: TokenStream, span: Span) -> TokenStream {
    let mut trees: Vec<TokenTree> = tokens.into_iter().collect();
    let last = trees.len().saturating_sub(1);
    for index in [0, last] {
        if let Some(tree) = trees.get_mut(index) {
            match tree {
                TokenTree::Group(group) => {
                    let mut respanned = Group::new(group.delimiter(), group.stream());
                    respanned.set_span(span);
                    *group = respanned;
                }
                other => other.set_span(span),
            }
        }
    }
    trees.into_iter().collect()
}
