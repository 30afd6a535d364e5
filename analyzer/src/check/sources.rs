//! Which files a `waitgraph check PATH` reads: for a crate, the module tree of each of its
//! targets (`src/lib.rs`, `src/main.rs`, `src/bin/`, `tests/`, `examples/`, `benches/`,
//! and the paths `Cargo.toml` names), following `mod name;` as rustc does; a directory
//! holding several crates (a workspace) is each crate under it; a `.rs` file is itself a
//! root. A file no target reaches is not compiled, so it is not checked.

use std::path::{Path, PathBuf};

/// A crate root to start a module tree from.
#[derive(Clone, Debug)]
pub struct Root {
    pub path: PathBuf,
    pub edition_2024: bool,
    /// The package the root belongs to (a number per manifest, or per lone file): calls
    /// resolve within it.
    pub package: usize,
}

/// The roots the given paths name.
pub fn roots(paths: &[PathBuf]) -> Result<Vec<Root>, String> {
    let mut roots = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if meta.is_file() {
            roots.push(Root {
                path: path.clone(),
                edition_2024: edition_of_file(path),
                package: roots.len(),
            });
            continue;
        }
        let mut manifests = Vec::new();
        find_manifests(path, &mut manifests, 0);
        if manifests.is_empty() {
            return Err(format!(
                "{} holds no Cargo.toml: name a crate, a workspace or .rs files",
                path.display()
            ));
        }
        manifests.sort();
        for manifest in manifests {
            let package = roots.len();
            roots.extend(crate_roots(&manifest, package));
        }
    }
    Ok(roots)
}

/// Every `Cargo.toml` under `dir` (not in `target/` or hidden directories).
fn find_manifests(dir: &Path, found: &mut Vec<PathBuf>, depth: usize) {
    if depth > 16 {
        return;
    }
    let manifest = dir.join("Cargo.toml");
    if manifest.is_file() {
        found.push(manifest);
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            !name.starts_with('.') && name != "target"
        })
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for dir in dirs {
        find_manifests(&dir, found, depth + 1);
    }
}

fn read_manifest(path: &Path) -> Option<toml::Table> {
    std::fs::read_to_string(path).ok()?.parse().ok()
}

/// The crate's edition is 2024 (read from its manifest, or its workspace's).
fn edition_2024(manifest: &Path, table: &toml::Table) -> bool {
    let edition = table.get("package").and_then(|p| p.get("edition"));
    match edition {
        Some(toml::Value::String(edition)) => edition.as_str() >= "2024",
        Some(toml::Value::Table(t))
            if t.get("workspace").and_then(toml::Value::as_bool) == Some(true) =>
        {
            let mut dir = manifest.parent().and_then(Path::parent);
            while let Some(d) = dir {
                if let Some(root) = read_manifest(&d.join("Cargo.toml")) {
                    if let Some(edition) = root
                        .get("workspace")
                        .and_then(|w| w.get("package"))
                        .and_then(|p| p.get("edition"))
                        .and_then(toml::Value::as_str)
                    {
                        return edition >= "2024";
                    }
                }
                dir = d.parent();
            }
            false
        }
        _ => false,
    }
}

fn edition_of_file(file: &Path) -> bool {
    let mut dir = file.parent();
    while let Some(d) = dir {
        let manifest = d.join("Cargo.toml");
        if let Some(table) = read_manifest(&manifest) {
            if table.contains_key("package") {
                return edition_2024(&manifest, &table);
            }
        }
        dir = d.parent();
    }
    false
}

fn crate_roots(manifest: &Path, package: usize) -> Vec<Root> {
    let Some(table) = read_manifest(manifest) else {
        return Vec::new();
    };
    if !table.contains_key("package") {
        return Vec::new();
    }
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let edition_2024 = edition_2024(manifest, &table);
    let mut files: Vec<PathBuf> = Vec::new();
    for default in ["src/lib.rs", "src/main.rs", "build.rs"] {
        files.push(dir.join(default));
    }
    for target_dir in ["src/bin", "tests", "examples", "benches"] {
        let Ok(entries) = std::fs::read_dir(dir.join(target_dir)) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter_map(|p| {
                if p.extension().is_some_and(|e| e == "rs") {
                    Some(p)
                } else if p.join("main.rs").is_file() {
                    Some(p.join("main.rs"))
                } else {
                    None
                }
            })
            .collect();
        found.sort();
        files.extend(found);
    }
    // Targets with explicit paths.
    let mut named = Vec::new();
    if let Some(path) = table
        .get("lib")
        .and_then(|l| l.get("path"))
        .and_then(toml::Value::as_str)
    {
        named.push(path.to_string());
    }
    for kind in ["bin", "test", "example", "bench"] {
        for target in table
            .get(kind)
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(path) = target.get("path").and_then(toml::Value::as_str) {
                named.push(path.to_string());
            }
        }
    }
    files.extend(named.into_iter().map(|p| dir.join(p)));
    let mut seen = std::collections::HashSet::new();
    files
        .into_iter()
        .filter(|f| f.is_file())
        .filter(|f| seen.insert(f.clone()))
        .map(|path| Root {
            path,
            edition_2024,
            package,
        })
        .collect()
}

/// The file a `mod name;` in `file` refers to (`#[path]` given as `explicit`).
/// `inline` is the chain of inline modules (`mod a { mod b; }`) between them.
pub fn module_file(
    file: &Path,
    is_dir_owner: bool,
    inline: &[String],
    name: &str,
    explicit: Option<&str>,
) -> Option<PathBuf> {
    let parent = file.parent().unwrap_or(Path::new("."));
    let mut dir = if is_dir_owner {
        parent.to_path_buf()
    } else {
        parent.join(file.file_stem()?)
    };
    if let Some(explicit) = explicit {
        let base = if inline.is_empty() {
            parent.to_path_buf()
        } else {
            dir.join(inline.join("/"))
        };
        let candidate = base.join(explicit);
        return candidate.is_file().then_some(candidate);
    }
    for module in inline {
        dir.push(module);
    }
    let flat = dir.join(format!("{name}.rs"));
    if flat.is_file() {
        return Some(flat);
    }
    let nested = dir.join(name).join("mod.rs");
    nested.is_file().then_some(nested)
}

/// Whether a file owns its directory for `mod` lookups (a crate root or a `mod.rs`).
pub fn owns_directory(file: &Path, is_root: bool) -> bool {
    is_root || file.file_name().is_some_and(|n| n == "mod.rs")
}

/// How a path is shown in findings: as given, without a leading `./`.
pub fn display(path: &Path) -> String {
    let text = path.display().to_string();
    text.strip_prefix("./").map(str::to_string).unwrap_or(text)
}
