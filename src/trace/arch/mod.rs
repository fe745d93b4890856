//! Architecture-specific register layouts. Only x86_64 is supported; everything above this
//! module speaks in [`x86_64::RawSyscall`] values, never in registers.

pub(crate) mod x86_64;
