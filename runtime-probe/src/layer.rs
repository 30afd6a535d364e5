//! A `tracing-subscriber` layer that makes the program's spans function contexts, so a
//! report says which span each blocked thread was in.
//!
//! ```
//! use tracing_subscriber::prelude::*;
//! tracing_subscriber::registry().with(waitgraph::layer::ContextLayer::new()).init();
//! let span = tracing::info_span!("shrink_pool");
//! let _entered = span.enter();   // a deadlock report now names `shrink_pool`
//! ```

use crate::context::Context;
use crate::probe::slot;
use parking_lot::Mutex;
use std::collections::HashMap;
use tracing::span::{Attributes, Id};
use tracing::{Metadata, Subscriber};
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// Turns entered spans into function contexts.
#[derive(Default)]
pub struct ContextLayer {
    _private: (),
}

impl ContextLayer {
    pub fn new() -> ContextLayer {
        ContextLayer::default()
    }
}

/// One context per span callsite, made once: callsites are static and finite, so this
/// stays bounded.
static CONTEXTS: Mutex<Option<HashMap<usize, &'static Context>>> = Mutex::new(None);

fn context_for(metadata: &'static Metadata<'static>) -> &'static Context {
    let mut contexts = CONTEXTS.lock();
    let map = contexts.get_or_insert_with(HashMap::new);
    map.entry(metadata as *const _ as usize).or_insert_with(|| {
        Box::leak(Box::new(Context::new(
            metadata.name(),
            metadata.file().unwrap_or("?"),
            metadata.line().unwrap_or(0),
        )))
    })
}

impl<S> Layer<S> for ContextLayer
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
{
    fn on_new_span(&self, _attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut()
                .insert(SpanContext(context_for(span.metadata())));
        }
    }

    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        if !crate::enabled() {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let Some(context) = span.extensions().get::<SpanContext>().map(|c| c.0) else {
            return;
        };
        if slot::with_current(|slot| slot.push_context(context)).is_some() {
            let mut extensions = span.extensions_mut();
            match extensions.get_mut::<Pushed>() {
                Some(pushed) => pushed.0 += 1,
                None => extensions.insert(Pushed(1)),
            }
        }
    }

    fn on_exit(&self, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(pushed) = extensions.get_mut::<Pushed>().filter(|p| p.0 > 0) {
            pushed.0 -= 1;
            slot::with_existing(|slot| slot.pop_context());
        }
    }
}

struct SpanContext(&'static Context);

/// How many enters of the span pushed its context, so exits pop exactly those (even if
/// the probe was switched off in between).
struct Pushed(usize);
