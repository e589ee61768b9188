//! The `after` graph: every target known, no cycle, and the start order it gives.

use super::{ConfigError, Service, closest};
use std::collections::{BTreeMap, HashMap};

/// Where a name was defined, and for a service, its `after` names and where each was written.
pub(super) type Defined = (ConfigError, Option<Vec<(String, ConfigError)>>);

/// Every `after` target is a service; errors at the places the names were written.
pub(super) fn check_after(defined: &BTreeMap<String, Defined>, errors: &mut Vec<ConfigError>) {
    let is_service = |name: &str| defined.get(name).is_some_and(|(_, a)| a.is_some());
    let known: Vec<&str> = defined
        .iter()
        .filter(|(_, (_, a))| a.is_some())
        .map(|(n, _)| n.as_str())
        .collect();
    // Sorted by service name, so that the errors come out in a stable order.
    for (service, (_, after)) in defined {
        for (dep, place) in after.as_deref().unwrap_or(&[]) {
            let message = if dep == service {
                format!("service `{service}` is `after` itself")
            } else if !is_service(dep) {
                let hint = closest(dep, &known)
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                format!("service `{service}`: `after` names unknown service `{dep}`{hint}")
            } else {
                continue;
            };
            errors.push(ConfigError {
                message,
                ..place.clone()
            });
        }
    }
}

/// A cycle in `after`, as the names along it ending where it began, if there is one.
pub(super) fn find_cycle(services: &[Service]) -> Option<Vec<String>> {
    let index: HashMap<&str, usize> = services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    // 0 = unseen, 1 = on the current path, 2 = done.
    let mut mark = vec![0u8; services.len()];
    let mut path: Vec<usize> = Vec::new();
    fn visit(
        i: usize,
        services: &[Service],
        index: &HashMap<&str, usize>,
        mark: &mut Vec<u8>,
        path: &mut Vec<usize>,
    ) -> Option<Vec<String>> {
        match mark.get(i).copied() {
            Some(2) => return None,
            Some(1) => {
                let from = path.iter().position(|&p| p == i).unwrap_or(0);
                let mut names: Vec<String> = path
                    .get(from..)
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(|&p| services.get(p).map(|s| s.name.clone()))
                    .collect();
                names.extend(services.get(i).map(|s| s.name.clone()));
                return Some(names);
            }
            _ => {}
        }
        if let Some(m) = mark.get_mut(i) {
            *m = 1;
        }
        path.push(i);
        for dep in services.get(i).map(|s| s.after.as_slice()).unwrap_or(&[]) {
            if let Some(&j) = index.get(dep.as_str()) {
                if j == i {
                    continue; // reported as "after itself"
                }
                if let Some(cycle) = visit(j, services, index, mark, path) {
                    return Some(cycle);
                }
            }
        }
        path.pop();
        if let Some(m) = mark.get_mut(i) {
            *m = 2;
        }
        None
    }
    (0..services.len()).find_map(|i| visit(i, services, &index, &mut mark, &mut path))
}

/// Services in start order: each after everything it names in `after` (file order otherwise).
pub fn start_order(services: &[&Service]) -> Vec<usize> {
    let mut order = Vec::with_capacity(services.len());
    let mut placed = vec![false; services.len()];
    while order.len() < services.len() {
        let before = order.len();
        for (i, svc) in services.iter().enumerate() {
            if placed.get(i).copied().unwrap_or(true) {
                continue;
            }
            let ready = svc.after.iter().all(|dep| {
                services
                    .iter()
                    .position(|s| s.name == *dep)
                    .is_none_or(|j| placed.get(j).copied().unwrap_or(true) || j == i)
            });
            if ready {
                if let Some(p) = placed.get_mut(i) {
                    *p = true;
                }
                order.push(i);
            }
        }
        if order.len() == before {
            // A cycle (validation rejects them): place the rest in file order.
            order.extend((0..services.len()).filter(|i| !placed.get(*i).copied().unwrap_or(true)));
        }
    }
    order
}

/// The longest an ordered stop can take before SIGKILL ends it: a service is stopped once
/// everything after it is down, then has its `stop_timeout`. The time and its chain, in
/// the order the chain stops (None without services).
pub fn worst_stop(services: &[Service]) -> Option<(std::time::Duration, Vec<String>)> {
    let mut after_it: HashMap<&str, Vec<&Service>> = HashMap::new();
    for s in services {
        for dep in &s.after {
            after_it.entry(dep.as_str()).or_default().push(s);
        }
    }
    // The graph is acyclic (checked before): a memo over names, walked from each service.
    let mut memo: HashMap<&str, (std::time::Duration, Vec<String>)> = HashMap::new();
    fn down<'a>(
        s: &'a Service,
        after_it: &HashMap<&str, Vec<&'a Service>>,
        memo: &mut HashMap<&'a str, (std::time::Duration, Vec<String>)>,
        depth: usize,
    ) -> (std::time::Duration, Vec<String>) {
        if let Some(known) = memo.get(s.name.as_str()) {
            return known.clone();
        }
        let mut first = (std::time::Duration::ZERO, Vec::new());
        // A cycle would recurse for ever; `depth` bounds it all the same.
        if depth <= after_it.len() {
            for d in after_it.get(s.name.as_str()).map_or(&[][..], Vec::as_slice) {
                let option = down(d, after_it, memo, depth + 1);
                if option.0 > first.0 {
                    first = option;
                }
            }
        }
        first.0 += s.stop_timeout;
        first.1.push(s.name.clone());
        memo.insert(s.name.as_str(), first.clone());
        first
    }
    services
        .iter()
        .map(|s| down(s, &after_it, &mut memo, 0))
        .max_by_key(|(t, _)| *t)
}
