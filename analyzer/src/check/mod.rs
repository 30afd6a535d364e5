//! `waitgraph check`: finds deadlocks in Rust source before it runs, on stable Rust,
//! without building the crate.
//!
//! | module | computes |
//! |---|---|
//! | [`sources`] | which files a path means: each crate target's module tree |
//! | [`cfg`] | which `#[cfg]` alternatives are read (a Linux host, every feature on) |
//! | [`index`] | the crate's items: lock fields and statics, structs, functions |
//! | [`guard_lifetimes`] | one body walked by Rust's drop rules: the locks held at each lock, call and wait |
//! | [`aliases`] | classes that name the same lock or executor (a field built from another's) |
//! | [`call_graph`] | what each function takes and blocks on through its callees, renamed into its callers |
//! | [`lock_order`] | cycles of the lock-order graph |
//! | [`rules`] | the findings, in the one model every mode reports in |
//! | [`suppress`] | `// waitgraph: allow(kind) reason` comments |
//!
//! Each file is parsed once to build the index and once more to walk its bodies (files
//! holding guard-returning wrappers, once more before that): memory holds one syntax
//! tree at a time, plus the facts of every body.
//!
//! ```
//! let dir = std::env::temp_dir().join(format!("waitgraph-check-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let file = dir.join("bank.rs");
//! std::fs::write(&file, r#"
//!     use std::sync::Mutex;
//!     struct Bank { ledger: Mutex<u64>, audit: Mutex<u64> }
//!     impl Bank {
//!         fn deposit(&self) { let _l = self.ledger.lock().unwrap(); let _a = self.audit.lock().unwrap(); }
//!         fn report(&self) { let _a = self.audit.lock().unwrap(); let _l = self.ledger.lock().unwrap(); }
//!     }
//! "#).unwrap();
//! let checked = waitgraph_analyzer::check::check(&[file]).unwrap();
//! assert_eq!(checked.report.findings.len(), 1);
//! assert_eq!(checked.report.findings[0].kind.as_str(), "lock-order-inversion");
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

pub mod aliases;
pub mod call_graph;
pub mod cfg;
pub mod facts;
pub mod guard_lifetimes;
pub mod index;
pub mod lock_order;
pub mod rules;
pub mod sources;
pub mod suppress;

use facts::{Body, LockRef, Mode, Span};
use guard_lifetimes::{Frame, Walker};
use index::{Caller, FnItem, Index, Shape};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use syn::{Item, Type};
use waitgraph_core::report::{Mode as ReportMode, Report};

/// What a check found, and what it read.
#[derive(Debug)]
pub struct Checked {
    pub report: Report,
    /// Files read and parsed.
    pub files: usize,
    pub lines: usize,
    /// Files that could not be read or parsed (the rest were checked).
    pub errors: Vec<String>,
    /// What the user should know that is not a finding: `allow` comments naming no kind.
    pub warnings: Vec<String>,
    /// Findings left out of the report by an `allow` comment: the finding, the comment's
    /// file, the comment.
    pub allowed: Vec<(waitgraph_core::report::Finding, String, suppress::Allow)>,
}

struct SourceFile {
    path: PathBuf,
    display: String,
    edition_2024: bool,
}

/// Checks the crates, workspaces or files named by `paths`.
pub fn check(paths: &[PathBuf]) -> Result<Checked, String> {
    let roots = sources::roots(paths)?;
    let mut files: Vec<SourceFile> = Vec::new();
    let mut errors = Vec::new();
    let mut lines = 0;
    let mut pending = Pending::default();
    let mut allows = suppress::Allows::default();
    let mut seen = HashSet::new();
    let mut queue: VecDeque<(PathBuf, String, bool, Option<Caller>)> = VecDeque::new();
    // Pass 1: the module trees, and the index of items.
    for (unit, root) in roots.into_iter().enumerate() {
        let caller = Caller {
            unit,
            package: root.package,
        };
        queue.push_back((root.path, String::new(), root.edition_2024, None));
        while let Some((path, module, edition_2024, parent)) = queue.pop_front() {
            let is_root = parent.is_none();
            let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
            if !seen.insert(canonical) {
                continue;
            }
            let display = sources::display(&path);
            let Some((text, ast)) = parse(&path, &display, &mut errors, &mut lines) else {
                continue;
            };
            let mut ranges = Vec::new();
            each_fn(&ast.items, &mut |_, _, _, sig, block| {
                ranges.push((
                    sig.fn_token.span.start().line as u32,
                    block.brace_token.span.close().end().line as u32,
                ))
            });
            allows.add_file(&display, &text, &ranges);
            let file = files.len();
            let owns_dir = sources::owns_directory(&path, is_root);
            let mut submodules = Vec::new();
            pending.collect(&ast.items, &module, (file, caller), &[], &mut submodules);
            for (inline, name, explicit) in submodules {
                let child = std::iter::once(module.as_str())
                    .filter(|m| !m.is_empty())
                    .chain(inline.iter().map(String::as_str))
                    .chain([name.as_str()])
                    .collect::<Vec<_>>()
                    .join("::");
                match sources::module_file(&path, owns_dir, &inline, &name, explicit.as_deref()) {
                    Some(found) => queue.push_back((found, child, edition_2024, Some(caller))),
                    None => errors.push(format!(
                        "{display}: the file of `mod {name};` was not found"
                    )),
                }
            }
            files.push(SourceFile {
                path,
                display,
                edition_2024,
            });
        }
    }
    let index = pending.finish();
    // Pass 2: wrappers that hand out guards, then every body.
    let locals = std::cell::Cell::new(0);
    let aliases = std::cell::RefCell::new(Vec::new());
    let no_wrappers = HashMap::new();
    let mut wrappers: HashMap<usize, (LockRef, Mode)> = HashMap::new();
    let wrapper_files: HashSet<usize> = index
        .fns
        .iter()
        .filter(|f| f.returns_guard)
        .map(|f| f.file)
        .collect();
    for (file_index, file) in files.iter().enumerate() {
        if !wrapper_files.contains(&file_index) {
            continue;
        }
        let Some((_, ast)) = parse(&file.path, &file.display, &mut Vec::new(), &mut 0) else {
            continue;
        };
        for (function, block) in functions_of(&ast, &index, file_index) {
            if !index.fns[function].returns_guard {
                continue;
            }
            let bodies = walk(
                &index,
                file,
                file_index,
                function,
                block,
                Shared {
                    wrappers: &no_wrappers,
                    locals: &locals,
                    aliases: &aliases,
                },
            );
            if let Some(returns) = bodies.first().and_then(|b| b.returns.clone()) {
                wrappers.insert(function, returns);
            }
        }
    }
    let mut bodies: Vec<Body> = Vec::new();
    for (file_index, file) in files.iter().enumerate() {
        let Some((_, ast)) = parse(&file.path, &file.display, &mut Vec::new(), &mut 0) else {
            continue;
        };
        for (function, block) in functions_of(&ast, &index, file_index) {
            bodies.extend(walk(
                &index,
                file,
                file_index,
                function,
                block,
                Shared {
                    wrappers: &wrappers,
                    locals: &locals,
                    aliases: &aliases,
                },
            ));
        }
    }
    aliases::canonicalise(&mut bodies, &aliases.into_inner());
    let by_function: HashMap<usize, usize> = bodies
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b.function.map(|f| (f, i)))
        .collect();
    let summaries = call_graph::summarise(&bodies, &by_function);
    let displays: Vec<String> = files.iter().map(|f| f.display.clone()).collect();
    let findings = rules::Rules {
        bodies: &bodies,
        summaries: &summaries,
        by_function: &by_function,
        files: &displays,
    }
    .findings();
    let mut allowed = Vec::new();
    let mut reported = Vec::new();
    for finding in findings {
        match allows.allowing(&finding) {
            Some((file, allow)) => {
                let (file, allow) = (file.to_string(), allow.clone());
                allowed.push((finding, file, allow));
            }
            None => reported.push(finding),
        }
    }
    Ok(Checked {
        report: Report::new(ReportMode::Static, reported),
        files: files.len(),
        lines,
        errors,
        warnings: std::mem::take(&mut allows.unknown),
        allowed,
    })
}

fn parse(
    path: &std::path::Path,
    display: &str,
    errors: &mut Vec<String>,
    lines: &mut usize,
) -> Option<(String, syn::File)> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            errors.push(format!("cannot read {display}: {error}"));
            return None;
        }
    };
    *lines += text.lines().count();
    match syn::parse_file(&text) {
        Ok(ast) => Some((text, ast)),
        Err(error) => {
            let at = error.span().start();
            // syn's words for a file that does not even split into tokens.
            let why = if error.to_string() == "cannot parse string into token stream" {
                "it does not split into tokens: an unclosed or unbalanced delimiter, or an unterminated literal or comment".to_string()
            } else {
                error.to_string()
            };
            errors.push(format!(
                "{display}:{}:{}: cannot parse this file ({why}); the rest was checked",
                at.line,
                at.column + 1
            ));
            None
        }
    }
}

/// What every walk shares: the guard-returning wrappers, the numbering of locals, the
/// aliases found.
struct Shared<'a> {
    wrappers: &'a HashMap<usize, (LockRef, Mode)>,
    locals: &'a std::cell::Cell<u32>,
    aliases: &'a std::cell::RefCell<Vec<(String, String)>>,
}

fn walk(
    index: &Index,
    file: &SourceFile,
    file_index: usize,
    function: usize,
    block: &syn::Block,
    shared: Shared<'_>,
) -> Vec<Body> {
    let Shared {
        wrappers,
        locals,
        aliases,
    } = shared;
    let item = &index.fns[function];
    let frame = Frame {
        index,
        file: file_index,
        module: &item.module,
        name: item.path.clone(),
        owner: item.owner.clone(),
        edition_2024: file.edition_2024,
        wrappers,
        caller: Caller {
            unit: item.unit,
            package: item.package,
        },
        aliases,
        locals,
        runs_once: item.runs_once,
    };
    let mut walker = Walker::new(&frame);
    let mut position = 0;
    for (name, shape) in &item.params {
        if name == "self" {
            continue;
        }
        walker.bind_param(position, name, shape);
        position += 1;
    }
    let site = Span::of(file_index, block.brace_token.span.open());
    for (role, executor) in &item.roles {
        walker.role(role, executor, site);
    }
    walker.walk_body(block, Some(function), site)
}

/// The functions of a file with bodies, in the order [`Pending::collect`] indexed them.
fn functions_of<'a>(
    ast: &'a syn::File,
    index: &Index,
    file: usize,
) -> Vec<(usize, &'a syn::Block)> {
    let mut blocks = Vec::new();
    each_fn(&ast.items, &mut |_, _, _, _, block| blocks.push(block));
    // Functions are indexed file after file.
    let first = index.fns.partition_point(|f| f.file < file);
    blocks
        .into_iter()
        .enumerate()
        .map(|(i, b)| (first + i, b))
        .collect()
}

/// Calls `f(owner, inline modules, attributes, signature, body)` for every function and method with a
/// body, inline modules included, in source order.
fn each_fn<'a>(items: &'a [Item], f: &mut FnVisitor<'a, '_>) {
    fn go<'a>(items: &'a [Item], inline: &mut Vec<String>, f: &mut FnVisitor<'a, '_>) {
        for item in items.iter().filter(|item| item_enabled(item)) {
            match item {
                Item::Fn(function) => f(
                    None,
                    inline,
                    &function.attrs,
                    &function.sig,
                    &function.block,
                ),
                Item::Impl(implementation) => {
                    let owner = type_name(&implementation.self_ty);
                    for member in &implementation.items {
                        if let syn::ImplItem::Fn(method) = member {
                            if !cfg::enabled(&method.attrs) {
                                continue;
                            }
                            f(
                                owner.clone(),
                                inline,
                                &method.attrs,
                                &method.sig,
                                &method.block,
                            );
                        }
                    }
                }
                Item::Mod(module) => {
                    if let Some((_, items)) = &module.content {
                        inline.push(module.ident.to_string());
                        go(items, inline, f);
                        inline.pop();
                    }
                }
                _ => {}
            }
        }
    }
    go(items, &mut Vec::new(), f);
}

/// Whether the item is compiled in the configuration the checker reads ([`cfg`]).
fn item_enabled(item: &Item) -> bool {
    let attrs = match item {
        Item::Fn(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        _ => return true,
    };
    cfg::enabled(attrs)
}

/// The roles of `#[waitgraph::instrument(serves = "..", job = "..", schedules = "..",
/// waits_for = "..", acquires = "..", releases = "..")]` (also `#[instrument(..)]`):
/// (role, the executor's or resource's name).
fn roles_of(attrs: &[syn::Attribute]) -> Vec<(String, String)> {
    use syn::punctuated::Punctuated;
    let mut roles = Vec::new();
    for attr in attrs {
        if attr
            .path()
            .segments
            .last()
            .is_none_or(|s| s.ident != "instrument")
        {
            continue;
        }
        let Ok(args) = attr
            .parse_args_with(Punctuated::<syn::MetaNameValue, syn::Token![,]>::parse_terminated)
        else {
            continue;
        };
        for arg in args {
            let Some(key) = arg.path.get_ident().map(ToString::to_string) else {
                continue;
            };
            let known = [
                "serves",
                "job",
                "schedules",
                "waits_for",
                "acquires",
                "releases",
            ];
            if !known.contains(&key.as_str()) {
                continue;
            }
            if let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(value),
                ..
            }) = &arg.value
            {
                roles.push((key, value.value()));
            }
        }
    }
    roles
}

fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// Parameters as written: name and type (`None` for `self`).
type RawParams = Vec<(String, Option<Type>)>;

/// What [`each_fn`] calls for each function: owner type, inline modules, attributes,
/// signature, body.
type FnVisitor<'a, 'f> = dyn FnMut(Option<String>, &[String], &'a [syn::Attribute], &'a syn::Signature, &'a syn::Block)
    + 'f;

/// Items read in pass 1, their types resolved once every struct's name is known.
#[derive(Default)]
struct Pending {
    structs: Vec<(String, Vec<(String, Type)>)>,
    statics: Vec<(String, String, Type)>,
    fns: Vec<(FnItem, RawParams)>,
    trait_methods: HashSet<String>,
}

impl Pending {
    /// Reads `items` of `module` in `file`; `mod name;` declarations go to `submodules`
    /// as (inline modules on the way, name, `#[path]`).
    fn collect(
        &mut self,
        items: &[Item],
        module: &str,
        (file, caller): (usize, Caller),
        inline: &[String],
        submodules: &mut Vec<(Vec<String>, String, Option<String>)>,
    ) {
        let module_of = |inline: &[String]| {
            let mut parts: Vec<&str> = Vec::new();
            if !module.is_empty() {
                parts.push(module);
            }
            parts.extend(inline.iter().map(String::as_str));
            parts.join("::")
        };
        let here = module_of(inline);
        for item in items.iter().filter(|item| item_enabled(item)) {
            match item {
                Item::Struct(s) => {
                    let fields = s
                        .fields
                        .iter()
                        .enumerate()
                        .map(|(i, f)| {
                            let name = f
                                .ident
                                .as_ref()
                                .map_or_else(|| i.to_string(), ToString::to_string);
                            (name, f.ty.clone())
                        })
                        .collect();
                    self.structs.push((s.ident.to_string(), fields));
                }
                Item::Static(s) => {
                    self.statics
                        .push((here.clone(), s.ident.to_string(), (*s.ty).clone()))
                }
                Item::Macro(m)
                    if m.mac
                        .path
                        .segments
                        .last()
                        .is_some_and(|s| s.ident == "lazy_static") =>
                {
                    for (name, ty) in index::lazy_static_entries(m.mac.tokens.clone()) {
                        self.statics.push((here.clone(), name, ty));
                    }
                }
                Item::Trait(t) => {
                    for item in &t.items {
                        if let syn::TraitItem::Fn(method) = item {
                            self.trait_methods.insert(method.sig.ident.to_string());
                        }
                    }
                }
                Item::Mod(m) => match &m.content {
                    Some((_, inner)) => {
                        let mut deeper = inline.to_vec();
                        deeper.push(m.ident.to_string());
                        self.collect(inner, module, (file, caller), &deeper, submodules);
                    }
                    None => {
                        let explicit = m.attrs.iter().find(|a| a.path().is_ident("path")).and_then(
                            |a| match &a.meta {
                                syn::Meta::NameValue(nv) => match &nv.value {
                                    syn::Expr::Lit(syn::ExprLit {
                                        lit: syn::Lit::Str(s),
                                        ..
                                    }) => Some(s.value()),
                                    _ => None,
                                },
                                _ => None,
                            },
                        );
                        submodules.push((inline.to_vec(), m.ident.to_string(), explicit));
                    }
                },
                _ => {}
            }
        }
        // Functions in the order `each_fn` visits them (inline modules depth first).
        if inline.is_empty() {
            each_fn(items, &mut |owner, inline, attrs, sig, _| {
                let module = module_of(inline);
                let name = sig.ident.to_string();
                let runs_once = (owner.is_none() && name == "main")
                    || attrs
                        .iter()
                        .any(|a| a.path().segments.last().is_some_and(|s| s.ident == "test"));
                let path = [module.as_str(), owner.as_deref().unwrap_or(""), &name]
                    .iter()
                    .filter(|p| !p.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("::");
                let params = sig
                    .inputs
                    .iter()
                    .map(|input| match input {
                        syn::FnArg::Receiver(_) => ("self".to_string(), None),
                        syn::FnArg::Typed(typed) => {
                            let name = match &*typed.pat {
                                syn::Pat::Ident(ident) => ident.ident.to_string(),
                                _ => "_".to_string(),
                            };
                            (name, Some((*typed.ty).clone()))
                        }
                    })
                    .collect();
                self.fns.push((
                    FnItem {
                        path,
                        name,
                        owner,
                        params: Vec::new(),
                        roles: roles_of(attrs),
                        runs_once,
                        returns_guard: index::names_guard(&sig.output),
                        module,
                        file,
                        unit: caller.unit,
                        package: caller.package,
                    },
                    params,
                ));
            });
        }
    }

    fn finish(self) -> Index {
        let mut index = Index {
            trait_methods: self.trait_methods,
            ..Index::default()
        };
        let names: HashSet<String> = self.structs.iter().map(|(n, _)| n.clone()).collect();
        let is_struct = |name: &str| names.contains(name);
        for (name, fields) in self.structs {
            let entry = index.structs.entry(name).or_default();
            for (field, ty) in fields {
                entry
                    .entry(field)
                    .or_insert_with(|| index::shape_of(&ty, &is_struct));
            }
        }
        for (module, name, ty) in self.statics {
            let shape = index::shape_of(&ty, &is_struct);
            if shape != Shape::Other {
                index.statics.entry(name).or_default().push((module, shape));
            }
        }
        for (mut item, params) in self.fns {
            item.params = params
                .into_iter()
                .map(|(name, ty)| {
                    let shape = ty.map_or(Shape::Other, |ty| index::shape_of(&ty, &is_struct));
                    (name, shape)
                })
                .collect();
            index.add_fn(item);
        }
        index
    }
}
