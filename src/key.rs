//! Building the [`model::CommandKey`] of a command from the live process environment.
