//! Checking: the live filesystem as a [`model::Fs`], and the fingerprint fast path that lets an
//! unchanged file skip rehashing. Reads user files; never writes them.
//!
//! OWNER: check/restore helper.
