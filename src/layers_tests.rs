//! The layers of `docs/ARCHITECTURE.md` hold: every module is placed in the table, no
//! module names one of a higher layer, and the modules of one layer form no cycle; nor
//! do the modules inside one (`store::alerts` and `store::quiet` using each other).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module → layer, from the table's rows `| 3 | `probe` |`.
fn layers(architecture: &str) -> BTreeMap<String, u32> {
    let mut layers = BTreeMap::new();
    for line in architecture.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, layer, modules, _] = cells[..] else {
            continue;
        };
        let Ok(layer) = layer.parse::<u32>() else {
            continue;
        };
        // A cell says `store` (only `domain`, ...): the module is what precedes a
        // parenthesis.
        let mut outside = String::new();
        let mut depth = 0;
        for c in modules.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ if depth == 0 => outside.push(c),
                _ => {}
            }
        }
        for name in outside.split('`').skip(1).step_by(2) {
            layers.insert(name.to_string(), layer);
        }
    }
    layers
}

/// Every `.rs` file under `src`, with its path relative to it.
fn rust_files(src: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut files = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(src)
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                files.push((path, rel));
            }
        }
    }
    files
}

/// The top-level modules each file names through `crate::`.
fn edges(src: &Path) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let mut edges: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for (path, rel) in rust_files(src) {
        let top = rel.split('/').next().unwrap().trim_end_matches(".rs");
        if matches!(top, "bin" | "lib" | "layers_tests") {
            continue;
        }
        // `target_tests.rs` is the `tests` module of `target`.
        let top = top.trim_end_matches("_tests");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("crate::{"), "{rel}: name each module's path");
        for (at, _) in text.match_indices("crate::") {
            let name: String = text[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `crate::VERSION` and the like are the crate root's, not a module's.
            if name != top && name.starts_with(|c: char| c.is_ascii_lowercase()) {
                edges
                    .entry(top.to_string())
                    .or_default()
                    .insert((name, rel.clone()));
            }
        }
    }
    edges
}

#[test]
fn no_module_uses_one_of_a_higher_layer_and_none_form_a_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let layers = layers(&std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).unwrap());
    let edges = edges(&root.join("src"));
    let layer = |m: &str| {
        *layers
            .get(m)
            .unwrap_or_else(|| panic!("module {m} is in no layer of docs/ARCHITECTURE.md"))
    };
    for (from, to) in &edges {
        for (m, file) in to {
            assert!(
                layer(m) <= layer(from),
                "{file}: {from} (layer {}) uses {m} (layer {})",
                layer(from),
                layer(m)
            );
        }
    }
    // Within a layer: repeatedly set aside a module that uses no module left.
    let mut left: BTreeSet<&str> = layers.keys().map(String::as_str).collect();
    while !left.is_empty() {
        let free = left.iter().copied().find(|m| {
            edges
                .get(*m)
                .is_none_or(|to| to.iter().all(|(n, _)| !left.contains(n.as_str())))
        });
        match free {
            Some(m) => {
                left.remove(m);
            }
            None => panic!("the modules {left:?} use each other in a cycle"),
        }
    }
}

/// Every module of the library (`["store", "alerts"]`) and the file that holds it,
/// unit-test files aside.
fn modules(src: &Path) -> BTreeMap<Vec<String>, std::path::PathBuf> {
    let mut modules = BTreeMap::new();
    for (path, rel) in rust_files(src) {
        let stem = rel.trim_end_matches(".rs");
        let mut names: Vec<String> = stem.split('/').map(str::to_string).collect();
        if names[0] == "bin" || names.last().is_some_and(|n| n.ends_with("_tests")) {
            continue;
        }
        if matches!(names.last().map(String::as_str), Some("mod" | "lib")) {
            names.pop();
        }
        modules.insert(names, path);
    }
    modules
}

/// The code of a file: no comment lines, no unit tests.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a file names from `start` (`crate::` or a run of `super::`), as lists of
/// words.
fn paths_after<'a>(
    code: &'a str,
    start: &'a str,
) -> impl Iterator<Item = (usize, Vec<String>)> + 'a {
    code.match_indices(start).filter_map(move |(at, _)| {
        if code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            return None;
        }
        let mut rest = &code[at + start.len()..];
        let mut supers = 1;
        while let Some(r) = rest.strip_prefix(start).filter(|_| start == "super::") {
            supers += 1;
            rest = r;
        }
        let path: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        Some((supers, path.split("::").map(str::to_string).collect()))
    })
}

#[test]
fn no_modules_use_each_other_in_a_cycle_at_any_depth() {
    let modules = modules(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut edges: BTreeMap<&Vec<String>, BTreeSet<&Vec<String>>> = BTreeMap::new();
    for (module, path) in &modules {
        let code = code(path);
        let own_dir = path.ends_with("mod.rs") || path.ends_with("lib.rs");
        let mut named: Vec<Vec<String>> = paths_after(&code, "crate::").map(|(_, p)| p).collect();
        for (supers, p) in paths_after(&code, "super::") {
            // `super::` of `store/alerts.rs` is `store`; of `store/mod.rs`, the crate.
            let up = supers + usize::from(own_dir);
            let mut base = module[..module.len().saturating_sub(up)].to_vec();
            base.extend(p);
            named.push(base);
        }
        for mut name in named {
            // The longest prefix that is a module: `store::alerts::NewAlert` names
            // `store::alerts`.
            while !name.is_empty() && !modules.contains_key(&name) {
                name.pop();
            }
            let Some((target, _)) = modules.get_key_value(&name) else {
                continue;
            };
            // A module and the one that holds it use each other by nature.
            if !target.starts_with(module) && !module.starts_with(target) {
                edges.entry(module).or_default().insert(target);
            }
        }
    }
    let mut left: BTreeSet<&Vec<String>> = modules.keys().collect();
    while let Some(free) = left.iter().copied().find(|m| {
        edges
            .get(m)
            .is_none_or(|to| to.iter().all(|n| !left.contains(n)))
    }) {
        left.remove(free);
    }
    // What uses a cycle but is in none is set aside from the other end.
    while let Some(unused) = left.iter().copied().find(|m| {
        !left
            .iter()
            .any(|n| edges.get(n).is_some_and(|to| to.contains(m)))
    }) {
        left.remove(unused);
    }
    let cycle: Vec<String> = left.iter().map(|m| m.join("::")).collect();
    assert!(
        cycle.is_empty(),
        "these modules use each other in a cycle: {cycle:?}"
    );
}

#[test]
fn the_layers_are_read_from_the_table() {
    let table = "| layer | modules |\n|---|---|\n| 0 | `secret`, then `domain` (which uses `secret` only) |\n| 1 | `config`, `store` (only `domain`) |\n";
    let layers = layers(table);
    assert_eq!(layers.len(), 4, "{layers:?}");
    assert_eq!((layers["domain"], layers["store"]), (0, 1));
}
