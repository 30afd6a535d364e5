//! The `#[waitgraph::instrument]` attribute. Use it through the `waitgraph` crate, which
//! re-exports it and provides what the generated code calls; its documentation is there.
//!
//! Split as `tracing`'s attribute is: [`attr`] parses the arguments and checks the item,
//! [`expand`] generates the instrumented function.

use proc_macro::TokenStream;

mod attr;
mod expand;

/// Instruments a function: see `waitgraph::instrument`.
#[proc_macro_attribute]
pub fn instrument(args: TokenStream, item: TokenStream) -> TokenStream {
    let parsed = syn::parse::<attr::Args>(args)
        .and_then(|args| Ok((args, attr::function(item.clone().into())?)));
    match parsed {
        // The error, and the item as written so its uses do not add errors of their own.
        Err(error) => {
            let mut output: TokenStream = error.into_compile_error().into();
            output.extend(item);
            output
        }
        // Compiled out: the function exactly as written, token for token.
        Ok(_) if !cfg!(feature = "probe") => item,
        Ok((args, function)) => expand::function(&args, function).into(),
    }
}
