//! The `#[waitgraph::instrument]` attribute. Use it through the `waitgraph` crate, which
//! re-exports it and provides what the generated code calls; its documentation is there.
//!
//! Split as `tracing`'s attribute is: `attr` parses the arguments and checks the item,
//! `expand` generates the instrumented function.

use proc_macro2::TokenStream;

mod attr;
mod expand;

/// Instruments a function: see `waitgraph::instrument`.
#[proc_macro_attribute]
pub fn instrument(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    instrument_with(args.into(), item.into(), cfg!(feature = "probe")).into()
}

/// The attribute, with instrumentation compiled in (`probe`) or out.
fn instrument_with(args: TokenStream, item: TokenStream, probe: bool) -> TokenStream {
    // On an `impl` block: every method, its context named after the type.
    if let Ok(implementation) = syn::parse2::<syn::ItemImpl>(item.clone()) {
        return match attr::implementation(args, implementation) {
            Err(error) => {
                let mut output = error.into_compile_error();
                output.extend(item);
                output
            }
            Ok(_) if !probe => item,
            Ok(methods) => expand::implementation(methods),
        };
    }
    let parsed =
        syn::parse2::<attr::Args>(args).and_then(|args| Ok((args, attr::function(item.clone())?)));
    match parsed {
        // The error, and the item as written so its uses do not add errors of their own.
        Err(error) => {
            let mut output = error.into_compile_error();
            output.extend(item);
            output
        }
        // Compiled out: the function exactly as written, token for token. The arguments
        // are still checked, so a build with the probe and one without agree.
        Ok(_) if !probe => item,
        Ok((args, function)) => expand::function(&args, function),
    }
}

#[cfg(test)]
mod tests {
    use super::instrument_with;
    use proc_macro2::TokenStream;
    use std::path::Path;

    const REPRESENTATIVE: &str = include_str!("../tests/expansion/representative.rs");

    fn split(source: &str) -> (TokenStream, TokenStream) {
        let file = syn::parse_file(source).expect("the fixture parses");
        let syn::Item::Fn(mut function) = file.items.into_iter().next().expect("one item") else {
            panic!("the fixture is a function");
        };
        let attribute = function.attrs.remove(0);
        let args = match attribute.meta {
            syn::Meta::List(list) => list.tokens,
            _ => TokenStream::new(),
        };
        (args, quote::ToTokens::into_token_stream(function))
    }

    #[test]
    fn compiled_out_the_function_is_returned_token_for_token() {
        let (args, item) = split(REPRESENTATIVE);
        let output = instrument_with(args, item.clone(), false);
        let tokens = |stream: TokenStream| -> Vec<String> {
            stream.into_iter().map(|tree| tree.to_string()).collect()
        };
        assert_eq!(tokens(output), tokens(item));
    }

    #[test]
    fn compiled_out_a_bad_argument_is_still_an_error() {
        let (_, item) = split(REPRESENTATIVE);
        let output = instrument_with(quote::quote!(naem = "x"), item, false);
        assert!(output.to_string().contains("compile_error"), "{output}");
    }

    /// What the attribute generates for a representative function, formatted, against
    /// the reviewed file beside it (`WAITGRAPH_BLESS=1` rewrites the file).
    #[test]
    fn expansion_of_a_representative_function() {
        let (args, item) = split(REPRESENTATIVE);
        let output = instrument_with(args, item, true);
        let file = syn::parse2::<syn::File>(output).expect("the expansion parses as items");
        let expanded = prettyplease::unparse(&file);
        let expected_path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/expansion/representative.expanded.rs");
        if std::env::var_os("WAITGRAPH_BLESS").is_some() {
            std::fs::write(&expected_path, &expanded).unwrap();
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        assert_eq!(
            expanded, expected,
            "the expansion changed: review it, then rerun with WAITGRAPH_BLESS=1"
        );
    }
}
