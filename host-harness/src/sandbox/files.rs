//! The host's own files (compile cache, state, locks, logs), kept private to the user that
//! runs `domain-host`.
//!
//! PHP-FPM and cron often run with `HOME` cleared, and a shared temporary directory is the
//! classic place for another local user to plant a file or a symlink. So directories are
//! created 0700 and checked before use (owned by us, not writable by group or others),
//! temporary files get unpredictable names and `O_EXCL`, and files are opened without
//! following symlinks.

use anyhow::{Context, Result, bail};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The effective user id of this process.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).expect("the OS random number generator is unavailable");
    bytes
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a path is not private to this user, or `None` when it is.
fn not_private(meta: &std::fs::Metadata) -> Option<String> {
    if meta.uid() != euid() {
        return Some(format!(
            "it is owned by uid {}, not by this user (uid {})",
            meta.uid(),
            euid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Some(format!(
            "it is writable by group or others (mode {:o})",
            meta.mode() & 0o7777
        ));
    }
    None
}

/// Creates `dir` (and its parents) 0700 when missing, then checks that it is a real
/// directory, owned by this user and not writable by group or others.
pub fn private_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    let meta = std::fs::symlink_metadata(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?;
    if !meta.is_dir() {
        bail!(
            "{} is not a directory (a symlink or a file is in its place); refusing to use it",
            dir.display()
        );
    }
    if let Some(why) = not_private(&meta) {
        bail!(
            "refusing to use {}: {why}. Fix its owner and mode (chmod 700) or configure another directory",
            dir.display()
        );
    }
    Ok(())
}

/// A directory several users of one config share (account locks): created 0770 when
/// missing; a symlink in its place, or a directory anyone may write to, is refused. Give
/// the users that run `domain-host` a common group to share it.
pub fn shared_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o770)
            .create(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    let meta = std::fs::symlink_metadata(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?;
    if !meta.is_dir() {
        bail!(
            "{} is not a directory (a symlink or a file is in its place); refusing to use it",
            dir.display()
        );
    }
    if meta.mode() & 0o002 != 0 {
        bail!(
            "refusing to use {}: anyone may write to it (mode {:o})",
            dir.display(),
            meta.mode() & 0o7777
        );
    }
    Ok(())
}

/// Checks that an existing file is a regular file, owned by this user and not writable by
/// group or others.
pub fn check_private_file(path: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    if let Some(why) = not_private(&meta) {
        bail!("refusing {}: {why}", path.display());
    }
    Ok(())
}

/// Makes `path` a file only this user can read: created 0600 when missing, set to 0600 when
/// it exists (a database an older version created with the umask's 0644). A symlink in its
/// place, or a file another user owns, is refused.
pub fn owner_only_file(path: &Path) -> Result<()> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("cannot open {} (a symlink in its place?)", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() || meta.uid() != euid() {
        bail!(
            "refusing {}: not a regular file owned by this user (uid {})",
            path.display(),
            euid()
        );
    }
    if meta.mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {} private", path.display()))?;
    }
    Ok(())
}

/// Opens a file for appending (created `mode` if missing) without following a symlink in
/// its place.
pub fn open_append(path: &Path, mode: u32) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Opens (creating if missing) a file for locking, without following a symlink.
pub fn open_lock_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o660)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Writes `bytes` to `path` atomically: a temporary file with an unpredictable name,
/// created with `O_EXCL` and `mode`, then renamed into place.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().context("path has no parent directory")?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .context("path has no file name")?;
    let tmp: PathBuf = dir.join(format!(".{name}.{}.tmp", hex(&random_bytes::<12>())));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

/// Reads a secret key file (`len` bytes, private to this user), creating it from the
/// CSPRNG on first use. Two processes racing to create it agree on the one that won.
pub fn key_file(path: &Path) -> Result<[u8; 32]> {
    if let Some(dir) = path.parent() {
        private_dir(dir)?;
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(mut file) => {
            let key = random_bytes::<32>();
            file.write_all(&key)
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write key file {}", path.display()))?;
            return Ok(key);
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(e).with_context(|| format!("cannot create key file {}", path.display()));
        }
    }
    check_private_file(path)?;
    let meta = std::fs::metadata(path)?;
    if meta.mode() & 0o077 != 0 {
        bail!(
            "refusing key file {}: it is readable by group or others (mode {:o})",
            path.display(),
            meta.mode() & 0o7777
        );
    }
    // A racing creator may not have written the key yet.
    for _ in 0..50 {
        let bytes = std::fs::read(path)?;
        if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
            return Ok(key);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    bail!("key file {} is not 32 bytes long", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "dh-files-{name}-{}-{}",
            std::process::id(),
            hex(&random_bytes::<4>())
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn private_dirs_are_created_0700() {
        let dir = scratch("create").join("a/b");
        private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        std::fs::remove_dir_all(dir.parent().unwrap().parent().unwrap()).unwrap();
    }

    #[test]
    fn group_writable_dirs_and_symlinks_are_refused() {
        let root = scratch("refuse");
        let dir = root.join("d");
        private_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o770)).unwrap();
        let err = private_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("writable by group or others"), "{err}");
        let link = root.join("link");
        std::os::unix::fs::symlink("/tmp", &link).unwrap();
        let err = private_dir(&link).unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn atomic_writes_leave_no_temporary_files() {
        let root = scratch("atomic");
        private_dir(&root).unwrap();
        let path = root.join("f");
        write_atomically(&path, b"one", 0o600).unwrap();
        write_atomically(&path, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 1);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn appends_do_not_follow_symlinks() {
        let root = scratch("nofollow");
        private_dir(&root).unwrap();
        let target = root.join("target");
        std::fs::write(&target, b"").unwrap();
        let link = root.join("log");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(open_append(&link, 0o600).is_err());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn key_files_are_created_once_and_must_stay_private() {
        let root = scratch("key");
        let path = root.join("cache.key");
        let first = key_file(&path).unwrap();
        assert_eq!(key_file(&path).unwrap(), first);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(key_file(&path).is_err());
        std::fs::remove_dir_all(root).unwrap();
    }
}
