//! `/var/lib/kubelet`, which kubelet's device manager (and the node suite) makes whatever
//! kubelet's root directory. The first user in this process notes whether it was there; the
//! last to go removes it if it was not, with whatever is still mounted below it. (Test
//! binaries run one after another.)

use std::sync::Mutex;

pub const FIXED_KUBELET_DIR: &str = "/var/lib/kubelet";

/// Live users, and whether the directory was there before the first.
static USERS: Mutex<(usize, bool)> = Mutex::new((0, false));

/// One kubelet's use of the directory, for as long as it lives.
pub struct FixedKubeletDir(());

impl FixedKubeletDir {
    pub fn take() -> FixedKubeletDir {
        let mut users = USERS.lock().unwrap_or_else(|e| e.into_inner());
        if users.0 == 0 {
            users.1 = std::path::Path::new(FIXED_KUBELET_DIR).exists();
        }
        users.0 += 1;
        FixedKubeletDir(())
    }
}

impl Drop for FixedKubeletDir {
    fn drop(&mut self) {
        let mut users = USERS.lock().unwrap_or_else(|e| e.into_inner());
        users.0 -= 1;
        if users.0 == 0 && !users.1 {
            crate::leaks::unmount_below(FIXED_KUBELET_DIR);
            let _ = std::fs::remove_dir_all(FIXED_KUBELET_DIR);
        }
    }
}
