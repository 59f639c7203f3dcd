//! The audit key file and the newest checkpoint kept beside it.
//!
//! The key (64 hex digits) signs the audit checkpoints stored in the database; it never goes
//! into the database itself. Beside it, `<key file>.head` holds the newest checkpoint's number
//! and MAC, so deleting the newest checkpoints together with the newest events from the
//! database alone is seen as well.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use loopdesk_domain::audit::{AuditKey, Checkpoint};

/// Reads the key file, or creates it (mode 0600) when `create` is set and it does not exist.
pub fn load(path: &Path, create: bool) -> anyhow::Result<Option<AuditKey>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = AuditKey::parse(&text).map_err(|e| anyhow::anyhow!("audit_key_file {}: {e}", path.display()))?;
            Ok(Some(key))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            let key = AuditKey::from_bytes(rand::random());
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("creating the audit key file {}", path.display()))?;
            writeln!(f, "{}", key.to_hex())?;
            f.sync_all()?;
            tracing::info!(file = %path.display(), key = %key.id(), "audit key created; back it up with the database");
            Ok(Some(key))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading the audit key file {}", path.display())),
    }
}

fn head_file(key_file: &Path) -> PathBuf {
    let mut p = key_file.as_os_str().to_owned();
    p.push(".head");
    p.into()
}

/// Records `cp` as the newest checkpoint (written to a temporary file, then renamed).
pub fn remember(key_file: &Path, cp: &Checkpoint) -> anyhow::Result<()> {
    let head = head_file(key_file);
    let tmp = head.with_extension("head.tmp");
    std::fs::write(&tmp, format!("{} {}\n", cp.id, cp.mac))?;
    std::fs::rename(&tmp, &head)?;
    Ok(())
}

/// Checks the database still holds the newest checkpoint recorded beside the key.
pub fn check_newest(key_file: &Path, stored: &[Checkpoint]) -> Result<(), String> {
    let Ok(text) = std::fs::read_to_string(head_file(key_file)) else { return Ok(()) };
    let mut it = text.split_whitespace();
    let (Some(id), Some(mac)) = (it.next().and_then(|i| i.parse::<i64>().ok()), it.next()) else {
        return Err(format!("{} is unreadable", head_file(key_file).display()));
    };
    match stored.iter().find(|c| c.id == id) {
        Some(c) if c.mac == mac => Ok(()),
        Some(_) => Err(format!("checkpoint {id} in the database is not the one that was signed")),
        None => Err(format!(
            "checkpoint {id}, the newest one signed, is missing from the database (the database holds {}): \
             checkpoints and the events after the remaining ones were deleted",
            stored.len()
        )),
    }
}
