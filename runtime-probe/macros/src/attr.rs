//! Parsing: the attribute's arguments and the item it is on. Every mistake is a compile
//! error that points at the argument or the token at fault.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Error, Ident, ItemFn, LitStr, Token};

/// The arguments `name = ".."`, `acquires = ".."` and so on.
#[derive(Default)]
pub struct Args {
    pub name: Option<LitStr>,
    pub acquires: Option<LitStr>,
    pub releases: Option<LitStr>,
    pub waits_for: Option<LitStr>,
    pub schedules: Option<LitStr>,
    pub job: Option<LitStr>,
    pub serves: Option<LitStr>,
}

const ARGUMENTS: &str = "`name`, `acquires`, `releases`, `waits_for`, `schedules`, `job`, `serves`";

struct Arg {
    key: Ident,
    value: LitStr,
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Arg> {
        let key: Ident = input.parse().map_err(|e| {
            Error::new(
                e.span(),
                format!("expected an argument: one of {ARGUMENTS}"),
            )
        })?;
        if !input.peek(Token![=]) {
            return Err(Error::new(
                key.span(),
                format!("`{key}` needs a value: `{key} = \"...\"`"),
            ));
        }
        input.parse::<Token![=]>()?;
        let value: LitStr = input.parse().map_err(|e| {
            Error::new(
                e.span(),
                format!("`{key}` takes a string literal: `{key} = \"...\"`"),
            )
        })?;
        Ok(Arg { key, value })
    }
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Args> {
        let mut args = Args::default();
        for arg in Punctuated::<Arg, Token![,]>::parse_terminated(input)? {
            let name = arg.key.to_string();
            let slot = match name.as_str() {
                "name" => &mut args.name,
                "acquires" => &mut args.acquires,
                "releases" => &mut args.releases,
                "waits_for" => &mut args.waits_for,
                "schedules" => &mut args.schedules,
                "job" => &mut args.job,
                "serves" => &mut args.serves,
                _ => {
                    return Err(Error::new(
                        arg.key.span(),
                        format!("unknown argument `{name}`: expected one of {ARGUMENTS}"),
                    ))
                }
            };
            if slot.is_some() {
                return Err(Error::new(
                    arg.key.span(),
                    format!("`{name}` is given twice"),
                ));
            }
            if arg.value.value().trim().is_empty() {
                return Err(Error::new(
                    arg.value.span(),
                    format!("`{name}` needs a non-empty name"),
                ));
            }
            *slot = Some(arg.value);
        }
        if let (Some(_), Some(waits_for)) = (&args.acquires, &args.waits_for) {
            return Err(Error::new(
                waits_for.span(),
                "a function is one wait: it cannot both acquire a resource and wait for an event",
            ));
        }
        Ok(args)
    }
}

/// An `impl` block the attribute is on, checked: no arguments (roles belong on the
/// methods), a named type. Returns the block and, per method to instrument (not `const`,
/// not `async`), its own arguments (from its `#[instrument(..)]`, which is removed) and
/// the type's name.
pub struct Methods {
    pub implementation: syn::ItemImpl,
    pub owner: String,
    /// Index in `implementation.items`, and the method's arguments.
    pub methods: Vec<(usize, Args)>,
}

pub fn implementation(
    args: TokenStream,
    mut implementation: syn::ItemImpl,
) -> syn::Result<Methods> {
    if !args.is_empty() {
        return Err(Error::new_spanned(
            args,
            "on an `impl` block `#[waitgraph::instrument]` takes no arguments: put them on the methods",
        ));
    }
    let owner = match &*implementation.self_ty {
        syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    };
    let Some(owner) = owner else {
        return Err(Error::new(
            implementation.impl_token.span,
            "`#[waitgraph::instrument]` on an `impl` block needs a named type",
        ));
    };
    let mut methods = Vec::new();
    for (index, item) in implementation.items.iter_mut().enumerate() {
        let syn::ImplItem::Fn(method) = item else {
            continue;
        };
        // A method's own attribute gives its arguments; the block's instruments it.
        let own = method.attrs.iter().position(|a| {
            a.path()
                .segments
                .last()
                .is_some_and(|s| s.ident == "instrument")
        });
        let args = match own {
            Some(position) => {
                let attribute = method.attrs.remove(position);
                match attribute.meta {
                    syn::Meta::List(list) => syn::parse2::<Args>(list.tokens)?,
                    _ => syn::parse2::<Args>(TokenStream::new())?,
                }
            }
            None => syn::parse2::<Args>(TokenStream::new())?,
        };
        // `const` and `async` methods cannot be instrumented: left as written.
        if method.sig.constness.is_some() || method.sig.asyncness.is_some() {
            continue;
        }
        methods.push((index, args));
    }
    Ok(Methods {
        implementation,
        owner,
        methods,
    })
}

/// The item the attribute is on, checked: a function with a body, neither `const` nor
/// `async`.
pub fn function(item: TokenStream) -> syn::Result<ItemFn> {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => return Err(not_a_function(item)),
    };
    if let Some(constness) = &function.sig.constness {
        return Err(Error::new(
            constness.span(),
            "`#[waitgraph::instrument]` cannot go on a `const fn`: recording is a run-time effect",
        ));
    }
    if let Some(asyncness) = &function.sig.asyncness {
        return Err(Error::new(
            asyncness.span(),
            "`#[waitgraph::instrument]` does not support `async fn`: a function context is per \
             thread, and an `async fn` moves between threads at each `.await`. Instrument the \
             blocking functions it calls instead",
        ));
    }
    Ok(function)
}

fn not_a_function(item: TokenStream) -> Error {
    if let Ok(declaration) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
        if declaration.default.is_none() {
            return Error::new(
                declaration.sig.ident.span(),
                "`#[waitgraph::instrument]` needs a function body: put it on the implementations",
            );
        }
    }
    let span = match syn::parse2::<syn::Item>(item) {
        Ok(item) => item_span(&item),
        Err(_) => Span::call_site(),
    };
    Error::new(
        span,
        "`#[waitgraph::instrument]` goes on functions and `impl` blocks only",
    )
}

/// The span to blame on a non-function item: its keyword and name.
fn item_span(item: &syn::Item) -> Span {
    use syn::Item;
    let spans = |first: Span, ident: &Ident| first.join(ident.span()).unwrap_or(ident.span());
    match item {
        Item::Struct(s) => spans(s.struct_token.span, &s.ident),
        Item::Enum(e) => spans(e.enum_token.span, &e.ident),
        Item::Const(c) => spans(c.const_token.span, &c.ident),
        Item::Static(s) => spans(s.static_token.span, &s.ident),
        Item::Trait(t) => spans(t.trait_token.span, &t.ident),
        Item::Mod(m) => spans(m.mod_token.span, &m.ident),
        Item::Type(t) => spans(t.type_token.span, &t.ident),
        Item::Union(u) => spans(u.union_token.span, &u.ident),
        Item::Impl(i) => i.impl_token.span,
        Item::Use(u) => u.use_token.span,
        other => other.span(),
    }
}
