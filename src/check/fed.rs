//! A check's predicates handed out one by one while a prefetch's answers stream in
//! (`check::prefetch::streamed`): before a predicate is handed to the check, the answers of
//! every path taken ahead that it or an earlier predicate names are settled in the snapshot.
//! The check thus walks chunk `k` while the workers take chunk `k + 1` on. The listings read
//! ahead are settled as soon as they are read, and at the latest once every predicate was
//! handed out: a check that defers its listing predicates to the end
//! (`model::check::check_views_in_family_deferring`) finds them there, and one that checks a
//! listing before it is read reads it itself (reading 100 000 names takes a thread about as
//! long as the lstats take the others: waiting for it would leave the check idle).

use super::live::LiveFs;
use super::prefetch::Stream;
use model::view::PredicateView;
use std::ops::Deref;

/// What a streamed check takes ahead: the paths, in the order of their first use, the number
/// of the predicate that first names each, and the directories whose listing is read ahead.
pub(super) struct Plan<'p> {
    /// The plain absolute paths taken ahead.
    pub(super) paths: Vec<&'p [u8]>,
    /// For each of `paths`, the number of the first predicate that names it (non-decreasing).
    pub(super) first_use: Vec<u32>,
    /// The plain directories whose listing is read ahead.
    pub(super) dirs: Vec<&'p [u8]>,
}

/// The predicates of a streamed check, as an iterator that settles answers before it hands
/// out each predicate that needs them.
pub(super) struct Fed<'f, 's, 'l, 'a, 'p, I> {
    live: &'l LiveFs<'a>,
    predicates: I,
    /// The number of the next predicate.
    index: u32,
    stream: &'f mut Stream<'s>,
    plan: &'f Plan<'p>,
    /// How many of the plan's paths have their answers settled (or will never get one).
    settled: usize,
    /// How many of the plan's paths are named by the predicates handed out so far.
    named: usize,
    /// Whether the listings are still to be settled.
    listings_pending: bool,
}

impl<'f, 's, 'l, 'a, 'p, I> Fed<'f, 's, 'l, 'a, 'p, I> {
    /// Hands out `predicates`, settling in `live` the answers `stream` brings for `plan`.
    pub(super) fn new(
        live: &'l LiveFs<'a>,
        predicates: I,
        stream: &'f mut Stream<'s>,
        plan: &'f Plan<'p>,
    ) -> Self {
        let listings_pending = !plan.dirs.is_empty();
        Fed { live, predicates, index: 0, stream, plan, settled: 0, named: 0, listings_pending }
    }

    /// Settles every answer predicate number `index` needs: those of the paths it and the
    /// predicates before it name; and the listings, if they are read.
    fn bring_in(&mut self, index: u32) {
        let first_use = &self.plan.first_use;
        while self.named < first_use.len() && first_use[self.named] <= index {
            self.named += 1;
        }
        while self.settled < self.named {
            match self.stream.next_chunk() {
                Some(answers) => {
                    let from = self.settled;
                    let to = (from + answers.len()).min(self.plan.paths.len());
                    self.live.settle_ahead(&self.plan.paths[from..], answers);
                    self.settled = to;
                    self.settle_listings(false);
                }
                // No more answers (a worker is gone): the walk asks the kernel for the rest.
                None => self.settled = self.plan.paths.len(),
            }
        }
    }

    /// Settles the listings read ahead, if they are still to be: once read, or (`wait`) as
    /// soon as they are.
    fn settle_listings(&mut self, wait: bool) {
        if !self.listings_pending {
            return;
        }
        let listings = if wait { self.stream.listings() } else { self.stream.listings_if_read() };
        // Waited for and still none: reading them failed, and the check reads them itself.
        self.listings_pending = !wait && listings.is_none();
        if let Some(listings) = listings {
            self.live.settle_listings(&self.plan.dirs, listings);
        }
    }
}

impl<'p, N, I> Iterator for Fed<'_, '_, '_, '_, 'p, I>
where
    N: Deref<Target = [u8]> + 'p,
    I: Iterator<Item = PredicateView<'p, N>>,
{
    type Item = PredicateView<'p, N>;

    fn next(&mut self) -> Option<Self::Item> {
        self.bring_in(self.index);
        let Some(p) = self.predicates.next() else {
            // What is checked after the last predicate (deferred listings) finds them read.
            self.settle_listings(true);
            return None;
        };
        self.index = self.index.saturating_add(1);
        Some(p)
    }
}
