//! A real, small file system for storage-fault tests: a tmpfs of a chosen size mounted on a
//! fresh temporary folder (needs root, as CI runs), which a test can fill and then enlarge.

use std::path::Path;
use std::process::Command;

use tempfile::TempDir;

/// A mounted tmpfs, unmounted when dropped.
pub struct SmallFs {
    dir: TempDir,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

impl SmallFs {
    /// Mounts a tmpfs of `kib` KiB. Panics (failing the test) when mounting is refused: a
    /// storage test that silently skipped would hide the fault it exists to catch.
    pub fn new(kib: u64) -> SmallFs {
        let dir = tempfile::tempdir().expect("temporary directory");
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k,mode=0755"), "tmpfs"])
            .arg(dir.path()));
        SmallFs { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Grows (or shrinks) the file system to `kib` KiB, keeping its files.
    pub fn resize(&self, kib: u64) {
        run(Command::new("mount").args(["-o", &format!("remount,size={kib}k")]).arg(self.dir.path()));
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        // Lazy: a server still holding files open does not keep the mount (or the test) alive.
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).output();
    }
}
