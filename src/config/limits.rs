//! The keys of "Limits and alerts" that need more than a typed getter: `limits` (a table
//! of rlimits), `umask`, `nice` and `oom_score_adj`, all gathered into the service's
//! `Tuning`.

use toml_edit::{Item, Value};

use super::fields::{Fields, span_of};
use super::units::parse_size;
use crate::types::{LIMIT_NAMES, Limit, Tuning};

const UNLIMITED: u64 = u64::MAX;

fn tuning(slot: &mut Option<Box<Tuning>>) -> &mut Tuning {
    slot.get_or_insert_with(Box::default)
}

/// `limits = { nofile = 65536, core = 0, memlock = "64MiB", stack = [SOFT, HARD] }`.
pub(super) fn read_limits(f: &mut Fields, k: &str, slot: &mut Option<Box<Tuning>>) {
    let Some(item) = f.item(k) else { return };
    let Some(table) = item.as_table_like() else {
        return f.wrong(k, "a table of limits ({ nofile = 65536, core = 0 })");
    };
    let mut limits = Vec::new();
    for (name, value) in table.iter() {
        let span = span_of(value);
        let what = format!("{} `{k}.{name}`", f.what);
        let Some(&(known, bytes, _)) = LIMIT_NAMES.iter().find(|(n, ..)| *n == name) else {
            let names: Vec<&str> = LIMIT_NAMES.iter().map(|(n, ..)| *n).collect();
            let why = format!("{what}: unknown limit (known: {})", names.join(", "));
            f.checker.error(span, why);
            continue;
        };
        let pair = match value.as_array() {
            Some(a) if a.len() == 2 => {
                let mut both = a.iter().map(|v| one_value(v, bytes));
                match (both.next(), both.next()) {
                    (Some(soft), Some(hard)) => soft.and_then(|s| hard.map(|h| (s, h))),
                    _ => Err(String::new()),
                }
            }
            Some(_) => Err("give one value, or [soft, hard]".to_string()),
            None => match value {
                Item::Value(v) => one_value(v, bytes).map(|n| (n, n)),
                _ => Err("give one value, or [soft, hard]".to_string()),
            },
        };
        match pair {
            Ok((soft, hard)) if soft > hard => f.checker.error(
                span,
                format!("{what}: the soft limit is over the hard limit"),
            ),
            Ok((soft, hard)) => limits.push(Limit {
                name: known,
                soft,
                hard,
            }),
            Err(why) => f.checker.error(span, format!("{what}: {why}")),
        }
    }
    tuning(slot).limits = limits;
}

/// A number, "unlimited", or (for limits in bytes) a size with a unit.
fn one_value(v: &Value, bytes: bool) -> Result<u64, String> {
    match v {
        Value::Integer(n) => {
            u64::try_from(*n.value()).map_err(|_| "a limit cannot be negative".to_string())
        }
        Value::String(s) if s.value() == "unlimited" => Ok(UNLIMITED),
        Value::String(s) if bytes => parse_size(s.value()),
        Value::String(s) => Err(format!(
            "{:?}: expected a whole number or \"unlimited\"",
            s.value()
        )),
        _ => Err("expected a number, \"unlimited\" or [soft, hard]".to_string()),
    }
}

/// `umask = "027"`: an octal string (a TOML integer would be read as decimal).
pub(super) fn read_umask(f: &mut Fields, k: &str, slot: &mut Option<Box<Tuning>>) {
    let Some(text) = f.string(k) else { return };
    match u32::from_str_radix(&text, 8) {
        Ok(mask) if mask <= 0o777 && !text.is_empty() => tuning(slot).umask = Some(mask),
        _ => f.invalid(
            k,
            format!("{text:?} is not an octal mask (\"022\", \"027\", \"077\")"),
        ),
    }
}

/// An integer key within `range`, into the tuning by `put`.
pub(super) fn read_ranged(
    f: &mut Fields,
    k: &str,
    range: std::ops::RangeInclusive<i64>,
    slot: &mut Option<Box<Tuning>>,
    put: fn(&mut Tuning, i32),
) {
    let Some(n) = f.typed(k, "a whole number", Item::as_integer) else {
        return;
    };
    match i32::try_from(n).ok().filter(|_| range.contains(&n)) {
        Some(n) => put(tuning(slot), n),
        None => f.invalid(
            k,
            format!("{n} is outside {}..{}", range.start(), range.end()),
        ),
    }
}
