//! Restoring: applies an entry's effects to disk (temp file + rename, recorded modes, no
//! setuid/setgid, never following a final symlink, never outside the project root) and writes
//! back its stdout and stderr.
//!
//! OWNER: check/restore helper.
