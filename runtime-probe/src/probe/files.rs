//! Writing the report and dump files so that a reader sees the old file or the whole new
//! one, never a part, and nothing planted in the directory is followed.
//!
//! | step | why |
//! |---|---|
//! | a temp file with a fresh random name in the target's directory, opened with `create_new` | a planted file or symlink under a guessable name is never opened or followed |
//! | written, then `sync_all` | the content is on disk before the name points at it |
//! | renamed over the target | readers see the old file or the new one (a symlink at the target is replaced, not followed) |
//! | the directory synced (Unix) | the rename itself survives a crash |

use std::collections::hash_map::RandomState;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// An error about a file, naming it.
fn at(path: &Path, what: &str, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{what} {}: {error}", path.display()))
}

/// A number no other process or earlier call can guess (std's hash keys are random per
/// process and per call).
fn random_suffix() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(std::process::id().into());
    hasher.finish()
}

fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Checks, before any finding, that `path` can take a report: not a directory, in a
/// directory that exists (it is created) and lets us create files.
pub fn check_writable(path: &Path, what: &str) -> io::Result<()> {
    if path.as_os_str().is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("cannot write the {what}: the path is empty"),
        ));
    }
    if path.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "cannot write the {what} to {}: it is a directory",
                path.display()
            ),
        ));
    }
    let dir = directory_of(path);
    std::fs::create_dir_all(dir).map_err(|e| at(dir, "cannot create the directory", e))?;
    let (probe, file) = create_temp(dir, path)?;
    drop(file);
    std::fs::remove_file(&probe).map_err(|e| at(&probe, "cannot remove", e))
}

fn create_temp(dir: &Path, target: &Path) -> io::Result<(PathBuf, File)> {
    let name = target
        .file_name()
        .map_or_else(|| "waitgraph".into(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.{:016x}.tmp", random_suffix()));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        // The path the user gave is the one an error names; the temp file is ours.
        .map_err(|e| at(target, "cannot write", e))?;
    Ok((temp, file))
}

/// Writes `value` as pretty JSON to `path`, atomically (see the table above).
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> io::Result<()> {
    write_atomically(path, |file| {
        serde_json::to_writer_pretty(&mut *file, value).map_err(io::Error::other)?;
        file.write_all(b"\n")
    })
}

/// Writes `path` whole with `write`, atomically (see the table above): a reader sees the
/// old file or the new one, never a part.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let dir = directory_of(path);
    std::fs::create_dir_all(dir).map_err(|e| at(dir, "cannot create the directory", e))?;
    let (temp, mut file) = create_temp(dir, path)?;
    let written = (|| {
        write(&mut file)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(at(path, "cannot write", error));
    }
    #[cfg(unix)]
    if let Ok(dir) = File::open(dir) {
        // Best effort: some file systems refuse to sync a directory.
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Where `SIGUSR1` writes the graph by default: the user's private runtime directory
/// when there is one, else the current directory; never a guessable name in a shared
/// temp directory.
#[cfg_attr(not(all(feature = "signal", unix)), allow(dead_code))]
pub fn default_dump_path() -> PathBuf {
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.is_dir())
        .unwrap_or_else(|| PathBuf::from("."));
    dir.join(format!("waitgraph-dump-{}.json", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "waitgraph-files-{}-{name}-{:x}",
            std::process::id(),
            random_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_directory_is_refused_by_name() {
        let dir = scratch("dir");
        let error = check_writable(&dir, "report").unwrap_err();
        assert!(
            error.to_string().contains(&*dir.to_string_lossy()),
            "{error}"
        );
        assert!(error.to_string().contains("is a directory"), "{error}");
        let error = write_json(&dir, &1).unwrap_err();
        assert!(
            error.to_string().contains(&*dir.to_string_lossy()),
            "{error}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_file_is_replaced_whole_and_leaves_no_temp_behind() {
        let dir = scratch("replace");
        let path = dir.join("report.json");
        write_json(&path, &vec![1, 2]).unwrap();
        write_json(&path, &vec![3]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(serde_json::from_str::<Vec<u32>>(&text).unwrap(), vec![3]);
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("report.json")]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_symlink_is_replaced_not_followed() {
        let dir = scratch("symlink");
        let victim = dir.join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        let path = dir.join("report.json");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        write_json(&path, &"report").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_read_only_directory_is_refused_by_name() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("readonly");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let path = dir.join("report.json");
        let result = check_writable(&path, "report");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Root may write anywhere: then there is nothing to refuse.
        if let Err(error) = result {
            assert!(
                error.to_string().contains(&*path.to_string_lossy()),
                "{error}"
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
