//! The core's tests: every rule run against a simulated clock, no process started.
//! `sim` is the harness; one file per machine.

mod admin;
mod checks;
mod jobs;
mod limits;
mod main_cmd;
mod props;
mod service;
mod sim;
mod watch;
