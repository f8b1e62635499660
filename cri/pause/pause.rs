//! cricket's built-in pause program: the process that holds a pod's namespaces.
//! It sleeps until SIGINT or SIGTERM (then exits 0) and reaps any child re-parented to it.
//! Built statically by cri/build.rs so the image needs nothing else.

use std::os::raw::c_int;

const SIGINT: c_int = 2;
const SIGTERM: c_int = 15;
const SIGCHLD: c_int = 17;
const WNOHANG: c_int = 1;

extern "C" {
    fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;
    fn pause() -> c_int;
    fn _exit(code: c_int) -> !;
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
}

extern "C" fn on_terminate(_: c_int) {
    unsafe { _exit(0) }
}

extern "C" fn on_child(_: c_int) {
    unsafe { while waitpid(-1, std::ptr::null_mut(), WNOHANG) > 0 {} }
}

fn main() {
    if std::process::id() != 1 {
        eprintln!("pause: warning: not running as PID 1");
    }
    unsafe {
        signal(SIGINT, on_terminate);
        signal(SIGTERM, on_terminate);
        signal(SIGCHLD, on_child);
        loop {
            pause();
        }
    }
}
