//! Writing the entries of nested commands on a thread of their own.
//!
//! Recording a nested command ends with [`Store::record`]: lock, read the family, write a temp
//! file, fsync it, rename it, fsync the directory. On the tracer's thread that stalled every
//! tracee: a `make -j2` of Lua records ~100 nested commands, and their ~200 fsyncs kept the
//! tracer from answering anyone for ~0.13 s (notes/performance.md, "Session 18"). The writer
//! takes finished entries in order and records them while the tracer goes on.
//!
//! Nothing a build sees changes. The objects an entry names are stored before it is handed over
//! (the outputs must be copied when their command ends, not later). A nested exec whose family
//! has an entry still waiting here waits for it first ([`EntryWriter::wait_for`]), so a command
//! run twice in one build is skipped the second time exactly as before. The recorder drains the
//! writer before it lowers the top-level command, and dropping it (a run that failed) still
//! writes everything handed over.

use crate::store::Store;
use model::{Entry, Hash};
use std::collections::HashMap;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// Entries handed over and not yet recorded, per family.
#[derive(Default)]
struct Waiting {
    families: Mutex<HashMap<Hash, usize>>,
    done: Condvar,
}

impl Waiting {
    fn lock(&self) -> MutexGuard<'_, HashMap<Hash, usize>> {
        self.families.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One entry of `family` is recorded (or failed to be).
    fn recorded(&self, family: &Hash) {
        let mut families = self.lock();
        if let Some(n) = families.get_mut(family) {
            *n -= 1;
            if *n == 0 {
                families.remove(family);
            }
        }
        self.done.notify_all();
    }
}

/// A thread recording entries into a store, in the order they are handed over.
pub struct EntryWriter {
    to_thread: Option<Sender<Entry>>,
    thread: Option<JoinHandle<Vec<String>>>,
    waiting: Arc<Waiting>,
}

impl EntryWriter {
    /// Starts the thread, recording into `store`.
    pub fn start(store: Store) -> EntryWriter {
        let (to_thread, entries) = channel::<Entry>();
        let waiting = Arc::new(Waiting::default());
        let theirs = Arc::clone(&waiting);
        let thread = crate::trace::spawn_without_sigchld(move || {
            let mut errors = Vec::new();
            for entry in entries {
                let family = entry.key.family();
                if let Err(e) = store.record(entry) {
                    errors.push(e.to_string());
                }
                theirs.recorded(&family);
            }
            errors
        });
        EntryWriter { to_thread: Some(to_thread), thread: Some(thread), waiting }
    }

    /// Hands `entry` over to be recorded.
    pub fn record(&self, entry: Entry) {
        let family = entry.key.family();
        *self.waiting.lock().entry(family).or_insert(0) += 1;
        let sent = self.to_thread.as_ref().is_some_and(|t| t.send(entry).is_ok());
        if !sent {
            // The thread is gone (it cannot be, short of a panic): nothing will record it.
            self.waiting.recorded(&family);
        }
    }

    /// Returns once no entry of `family` handed over is still waiting to be recorded.
    pub fn wait_for(&self, family: &Hash) {
        let mut families = self.waiting.lock();
        while families.contains_key(family) {
            families = self.waiting.done.wait(families).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Records everything handed over, stops the thread, and returns what failed to be recorded.
    pub fn finish(&mut self) -> Vec<String> {
        drop(self.to_thread.take());
        match self.thread.take().map(JoinHandle::join) {
            None => Vec::new(),
            Some(Ok(errors)) => errors,
            Some(Err(_)) => vec!["the thread recording nested commands failed".to_string()],
        }
    }
}

impl Drop for EntryWriter {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::entry::{Captured, ExitStatus};
    use model::CommandKey;

    /// An entry of the family of `argv`; `n` varies its key (an environment variable).
    fn entry(argv: &str, n: &str) -> Entry {
        let key = CommandKey::new(
            b"/bin/x".to_vec(),
            Hash::of(b"x"),
            vec![argv.as_bytes().to_vec()],
            b"/".to_vec(),
            vec![(b"N".to_vec(), n.as_bytes().to_vec())],
            &[],
        );
        let none = Captured { hash: Hash::of(b""), size_bytes: 0 };
        Entry {
            key,
            predicates: Vec::new(),
            effects: Vec::new(),
            effects_since: Vec::new(),
            stdout: none,
            stderr: none,
            exit: ExitStatus::Code(0),
            run_ns: 0,
            recorded_unix_ns: 0,
            uncacheable: Vec::new(),
            unknown_syscalls: Vec::new(),
        }
    }

    #[test]
    fn entries_handed_over_are_in_the_store_once_waited_for_or_finished() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join(".dry")).expect("store");
        let mut writer = EntryWriter::start(store.clone());
        let (a1, a2, b) = (entry("a", "1"), entry("a", "2"), entry("b", "1"));
        let (fa, fb) = (a1.key.family(), b.key.family());
        writer.record(a1);
        writer.record(a2);
        writer.record(b);
        writer.wait_for(&fa);
        assert_eq!(store.load_family(&fa).expect("family a").len(), 2);
        assert!(writer.finish().is_empty());
        assert_eq!(store.load_family(&fb).expect("family b").len(), 1);
    }

    #[test]
    fn dropping_the_writer_still_records_what_it_was_given() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join(".dry")).expect("store");
        let e = entry("c", "1");
        let family = e.key.family();
        {
            let writer = EntryWriter::start(store.clone());
            writer.record(e);
        }
        assert_eq!(store.load_family(&family).expect("family c").len(), 1);
    }
}
