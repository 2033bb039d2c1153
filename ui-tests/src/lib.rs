//! Holds the compile-fail cases; see tests/ui.rs.
