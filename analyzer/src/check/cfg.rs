//! `#[cfg(..)]`: which of the alternatives a build would compile. The checker reads the
//! source for one configuration, the common one: a Linux x86-64 (64-bit, GNU) host, every
//! feature on, tests and debug assertions compiled, and no special flag (`loom`, `miri`,
//! `docsrs`, `fuzzing`, `nightly`...). So `#[cfg(feature = "std")]` and
//! `#[cfg(not(feature = "std"))]` alternatives are not both read (which would be a double
//! lock where the code has one lock), and a `mod windows;` is not looked for.
//!
//! | predicate | taken as |
//! |---|---|
//! | `feature = ".."`, `test`, `debug_assertions`, `unix`, `target_os = "linux"`, `target_family = "unix"`, `target_arch = "x86_64"`, `target_pointer_width = "64"`, `target_env = "gnu"`, `target_endian = "little"`, `panic = "unwind"` | true |
//! | any other name or value | false |
//! | `not`, `all`, `any` | as written |
//!
//! ```
//! use waitgraph_analyzer::check::cfg::enabled;
//! let item: syn::ItemFn = syn::parse_quote! { #[cfg(not(feature = "std"))] fn f() {} };
//! assert!(!enabled(&item.attrs));
//! let item: syn::ItemFn = syn::parse_quote! { #[cfg(all(unix, feature = "std"))] fn f() {} };
//! assert!(enabled(&item.attrs));
//! ```

use syn::punctuated::Punctuated;
use syn::{Attribute, Meta, Token};

/// Whether an item, statement or expression with these attributes is compiled.
pub fn enabled(attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .all(|a| match a.parse_args::<Meta>() {
            Ok(meta) => holds(&meta),
            // A predicate the checker cannot read: keep the code.
            Err(_) => true,
        })
}

fn holds(meta: &Meta) -> bool {
    match meta {
        Meta::Path(path) => {
            let name = path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            matches!(name.as_str(), "test" | "debug_assertions" | "unix")
        }
        Meta::NameValue(pair) => {
            let key = pair
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            let value = match &pair.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => s.value(),
                _ => return false,
            };
            matches!(
                (key.as_str(), value.as_str()),
                ("feature", _)
                    | ("target_os", "linux")
                    | ("target_family", "unix")
                    | ("target_arch", "x86_64")
                    | ("target_pointer_width", "64")
                    | ("target_env", "gnu")
                    | ("target_endian", "little")
                    | ("panic", "unwind")
            )
        }
        Meta::List(list) => {
            let name = list
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            let Ok(inner) = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
            else {
                return true;
            };
            match name.as_str() {
                "not" => !inner.iter().all(holds),
                "all" => inner.iter().all(holds),
                "any" => inner.iter().any(holds),
                _ => false,
            }
        }
    }
}

/// The attributes of an expression, for the kinds a `#[cfg]` is put on in statements.
pub fn expr_attrs(expr: &syn::Expr) -> &[Attribute] {
    use syn::Expr;
    match expr {
        Expr::Call(e) => &e.attrs,
        Expr::MethodCall(e) => &e.attrs,
        Expr::Block(e) => &e.attrs,
        Expr::If(e) => &e.attrs,
        Expr::Match(e) => &e.attrs,
        Expr::Assign(e) => &e.attrs,
        Expr::Macro(e) => &e.attrs,
        Expr::ForLoop(e) => &e.attrs,
        Expr::While(e) => &e.attrs,
        Expr::Loop(e) => &e.attrs,
        Expr::Unsafe(e) => &e.attrs,
        Expr::Return(e) => &e.attrs,
        Expr::Path(e) => &e.attrs,
        Expr::Field(e) => &e.attrs,
        Expr::Try(e) => &e.attrs,
        Expr::Unary(e) => &e.attrs,
        Expr::Binary(e) => &e.attrs,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(text: &str) -> bool {
        let item: syn::ItemFn = syn::parse_str(&format!("{text} fn f() {{}}")).unwrap();
        enabled(&item.attrs)
    }

    #[test]
    fn the_common_configuration_is_read() {
        assert!(on(""));
        assert!(on("#[cfg(feature = \"std\")]"));
        assert!(!on("#[cfg(not(feature = \"std\"))]"));
        assert!(on("#[cfg(unix)]"));
        assert!(!on("#[cfg(windows)]"));
        assert!(!on("#[cfg(loom)]"));
        assert!(on("#[cfg(not(loom))]"));
        assert!(on("#[cfg(any(windows, target_os = \"linux\"))]"));
        assert!(!on("#[cfg(all(unix, target_arch = \"aarch64\"))]"));
        assert!(on("#[cfg(test)] #[inline]"));
    }
}
