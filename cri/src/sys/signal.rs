//! Signals to processes cricket knows only by PID (from a PID file or /proc). The process is
//! first held by a pidfd, then checked to be the one meant, then signalled through the pidfd:
//! a PID reused by another process in the meantime is never hit.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A process held by a pidfd: it stays the same process even if it exits and its PID is
/// reused.
pub struct Pidfd(OwnedFd);

impl Pidfd {
    pub fn open(pid: i32) -> io::Result<Pidfd> {
        if pid <= 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad PID {pid}")));
        }
        // SAFETY: pidfd_open takes a PID and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel just returned `fd`, a new descriptor nothing else owns.
        Ok(Pidfd(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) }))
    }

    pub fn send(&self, signal: libc::c_int) -> io::Result<()> {
        // SAFETY: a pidfd this value owns, a signal number, no siginfo (NULL) and no flags.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if ret < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// Sends `signal` to process `pid` if `is_it(pid)`, asked once the process is held, says it is
/// the process meant. Returns whether it was sent. Kernels without pidfds (before 5.3) get a
/// plain kill(2) after the same check.
pub fn send_if(pid: i32, signal: libc::c_int, is_it: impl FnOnce(i32) -> bool) -> io::Result<bool> {
    match Pidfd::open(pid) {
        Ok(held) => {
            if !is_it(pid) {
                return Ok(false);
            }
            held.send(signal).map(|()| true)
        }
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(false),
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            if !is_it(pid) {
                return Ok(false);
            }
            // SAFETY: kill takes plain integers.
            if unsafe { libc::kill(pid, signal) } < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(true)
        }
        Err(e) => Err(e),
    }
}

/// Whether process `pid` runs the program named `name` (the last part of its command's first
/// word, as /proc/<pid>/cmdline shows it).
pub fn runs_program(pid: i32, name: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
        let arg0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        arg0.rsplit(|b| *b == b'/').next() == Some(name.as_bytes())
    })
}

/// The parent of process `pid`, from /proc/<pid>/stat.
pub fn parent_of(pid: i32) -> Option<i32> {
    parent_in_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The parent PID (field 4) of a /proc/<pid>/stat line.
pub fn parent_in_stat(stat: &str) -> Option<i32> {
    // The command (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

/// A set of signals a thread takes synchronously, with [`SignalSet::wait`], instead of by
/// handler, once [`SignalSet::block`] has blocked them.
pub struct SignalSet(libc::sigset_t);

impl SignalSet {
    pub fn new(signals: &[libc::c_int]) -> io::Result<SignalSet> {
        // SAFETY: an all-zero sigset_t is a valid value for sigemptyset to initialize.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a live sigset_t for each call; sigaddset rejects bad numbers itself.
        unsafe {
            libc::sigemptyset(&mut set);
            for s in signals {
                super::check(libc::sigaddset(&mut set, *s), "sigaddset")?;
            }
        }
        Ok(SignalSet(set))
    }

    /// Blocks the set's signals in the calling thread and so in every thread it starts later.
    pub fn block(&self) -> io::Result<()> {
        // SAFETY: the set is initialized; the old mask is not wanted (NULL).
        let ret = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &self.0, std::ptr::null_mut()) };
        match ret {
            0 => Ok(()),
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }

    /// Waits for the next of the set's signals and returns it.
    pub fn wait(&self) -> libc::c_int {
        let mut sig = 0;
        // SAFETY: the set is initialized and `sig` outlives the call.
        unsafe { libc::sigwait(&self.0, &mut sig) };
        sig
    }
}

/// Ignores `signal` in the whole process.
pub fn ignore(signal: libc::c_int) {
    // SAFETY: SIG_IGN installs no handler code, so nothing runs in signal context.
    unsafe { libc::signal(signal, libc::SIG_IGN) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_that_is_not_the_one_meant_gets_no_signal() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        // Between fork and exec the child still shows the test's own command line.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !runs_program(pid, "sleep") && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(runs_program(pid, "sleep"));
        assert!(!send_if(pid, libc::SIGKILL, |p| runs_program(p, "cricket-logger")).unwrap());
        assert_eq!(child.try_wait().unwrap(), None, "still running");
        assert!(send_if(pid, libc::SIGKILL, |p| runs_program(p, "sleep")).unwrap());
        let status = child.wait().unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
    }

    #[test]
    fn a_process_held_before_it_exits_is_not_confused_with_a_new_one() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let held = Pidfd::open(child.id() as i32).unwrap();
        child.wait().unwrap();
        // The process is gone (reaped): its pidfd names it still, and nothing else.
        assert_eq!(held.send(libc::SIGKILL).unwrap_err().raw_os_error(), Some(libc::ESRCH));
    }

    #[test]
    fn the_parent_is_read_past_a_command_with_spaces_and_parentheses() {
        assert_eq!(parent_in_stat("4242 (a b) (c)) S 17 4242 4242 0"), Some(17));
        assert_eq!(parent_in_stat("4242 (sh"), None);
        let own = std::process::id() as i32;
        assert_eq!(parent_of(own), Some(std::os::unix::process::parent_id() as i32));
    }

    #[test]
    fn no_pid_is_not_a_process() {
        let refused = send_if(0, libc::SIGKILL, |_| true).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::InvalidInput);
    }
}
