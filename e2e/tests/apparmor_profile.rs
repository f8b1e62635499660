//! cricket's default AppArmor profile is valid for the node's `apparmor_parser` (parsed and
//! compiled, not loaded: this machine's kernel runs no AppArmor).

use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn the_default_profile_compiles() {
    let mut child = Command::new("apparmor_parser")
        .args(["-Q", "-K"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("apparmor_parser (package apparmor)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(cricket::apparmor::default_profile_text().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
