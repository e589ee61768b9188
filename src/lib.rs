//! upkeep: a small static init and supervisor. See README.md and upkeep(8).
//!
//! The library holds everything; the binary (`src/main.rs`) only dispatches, and the fuzz
//! targets (`fuzz/`) call the parsers directly.

pub mod cli;
pub mod config;
pub mod control;
pub mod core;
pub mod import;
pub mod logging;
pub mod os;
pub mod runtime;
pub mod schedule;
pub mod types;
