//! `--route QUERY=FILE`: events sent by QQL to sinks of their own. Each event goes to the
//! first route whose query it matches, or else to the main sink, which also takes every
//! reject. The sources' acknowledgements are held until every route has been flushed, then
//! handed to the main sink, so that none fires before its events are durable wherever they
//! went.

use super::part::split;
use super::{Mapped, Sink};
use crate::query::Query;
use crate::sources::Ack;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Acknowledgements held before the sink flushes on its own (as `JsonLines` does).
const HELD_ACKS: usize = 64;

/// One route: its query, its sink, and how many events it took.
pub struct Route {
    /// Which events it takes.
    pub query: Query,
    /// Where they go.
    pub sink: Box<dyn Sink + Send>,
    /// Events it took, so far.
    pub taken: Arc<AtomicU64>,
}

/// Events to routes by query, the rest (and every reject) to `main`.
pub struct Routes<S> {
    routes: Vec<Route>,
    main: S,
    held: Vec<Ack>,
}

impl<S: Sink> Routes<S> {
    /// Routes in the order given (the first match wins), then `main`.
    pub fn new(routes: Vec<Route>, main: S) -> Self {
        Routes { routes, main, held: Vec::new() }
    }
}

impl<S: Sink> Sink for Routes<S> {
    fn write(&mut self, batch: &Mapped) -> io::Result<()> {
        let main = self.routes.len();
        let routes = &self.routes;
        let mut parts =
            split(batch, main + 1, main, |e| routes.iter().position(|r| r.query.matches(e)).unwrap_or(main));
        let rest = parts.pop().expect("the main part");
        for (route, part) in self.routes.iter_mut().zip(parts) {
            if part.count > 0 {
                route.taken.fetch_add(part.count, Ordering::Relaxed);
                route.sink.write(&part.into_batch(batch, false))?;
            }
        }
        self.main.write(&rest.into_batch(batch, true))
    }

    fn flush(&mut self) -> io::Result<()> {
        for route in &mut self.routes {
            route.sink.flush()?;
        }
        for ack in self.held.drain(..) {
            self.main.acknowledge(ack)?;
        }
        self.main.flush()
    }

    fn acknowledge(&mut self, ack: Ack) -> io::Result<()> {
        if !ack.is_none() {
            self.held.push(ack);
        }
        if self.held.len() >= HELD_ACKS {
            self.flush()?;
        }
        Ok(())
    }
}
