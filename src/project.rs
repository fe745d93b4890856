//! Locating the project root and its `.dry/` directory.
