//! Which signal StopContainer sends first: the config's `stop_signal` (CRI 1.33), else the
//! image's `StopSignal`, else SIGTERM. ContainerStatus reports the same choice.

use crate::api::v1::Signal;
use crate::context::Context;
use crate::error::Error;
use crate::spec::ImageProcess;
use crate::store::containers::Container;
use crate::store::images::ImageEntry;

/// Real-time signals as the C library numbers them (it keeps the kernel's first two).
const RTMIN: i32 = 34;
const RTMAX: i32 = 64;

/// The number of a signal named as in an image config ("SIGQUIT", "QUIT", "3",
/// "SIGRTMIN+2").
pub fn signal_number(name: &str) -> Option<i32> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Ok(n) = bare.parse::<i32>() {
        return (1..=RTMAX).contains(&n).then_some(n);
    }
    if let Some(rest) = bare.strip_prefix("RTMIN") {
        return offset(rest, '+').map(|n| RTMIN + n).filter(|n| *n <= RTMAX);
    }
    if let Some(rest) = bare.strip_prefix("RTMAX") {
        return offset(rest, '-').map(|n| RTMAX - n).filter(|n| *n >= RTMIN);
    }
    Some(match bare {
        "ABRT" | "IOT" => libc::SIGABRT,
        "ALRM" => libc::SIGALRM,
        "BUS" => libc::SIGBUS,
        "CHLD" | "CLD" => libc::SIGCHLD,
        "CONT" => libc::SIGCONT,
        "FPE" => libc::SIGFPE,
        "HUP" => libc::SIGHUP,
        "ILL" => libc::SIGILL,
        "INT" => libc::SIGINT,
        "IO" | "POLL" => libc::SIGIO,
        "KILL" => libc::SIGKILL,
        "PIPE" => libc::SIGPIPE,
        "PROF" => libc::SIGPROF,
        "PWR" => libc::SIGPWR,
        "QUIT" => libc::SIGQUIT,
        "SEGV" => libc::SIGSEGV,
        "STKFLT" => libc::SIGSTKFLT,
        "STOP" => libc::SIGSTOP,
        "SYS" => libc::SIGSYS,
        "TERM" => libc::SIGTERM,
        "TRAP" => libc::SIGTRAP,
        "TSTP" => libc::SIGTSTP,
        "TTIN" => libc::SIGTTIN,
        "TTOU" => libc::SIGTTOU,
        "URG" => libc::SIGURG,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "VTALRM" => libc::SIGVTALRM,
        "WINCH" => libc::SIGWINCH,
        "XCPU" => libc::SIGXCPU,
        "XFSZ" => libc::SIGXFSZ,
        _ => return None,
    })
}

/// "" is 0; "+3" (or "-3" for RTMAX) is 3; the CRI enum spells them "PLUS3"/"MINUS3".
fn offset(rest: &str, sign: char) -> Option<i32> {
    let word = if sign == '+' { "PLUS" } else { "MINUS" };
    let digits = rest.strip_prefix(sign).or_else(|| rest.strip_prefix(word)).unwrap_or(rest);
    if digits.is_empty() {
        return Some(0);
    }
    digits.parse().ok()
}

/// The number of a CRI signal; `None` for RUNTIME_DEFAULT.
pub fn from_cri(signal: Signal) -> Option<i32> {
    let name = signal.as_str_name().strip_prefix("SIGNAL_")?;
    signal_number(name)
}

/// The CRI name of a signal number (the first enum value with that number: SIGABRT, not
/// SIGIOT).
pub fn to_cri(number: i32) -> Signal {
    (1..=65)
        .filter_map(|raw| Signal::try_from(raw).ok())
        .find(|s| from_cri(*s) == Some(number))
        .unwrap_or(Signal::RuntimeDefault)
}

/// Checks a config's `stop_signal` names a signal the enum knows.
pub fn validate(raw: i32) -> Result<(), Error> {
    match Signal::try_from(raw) {
        Ok(_) => Ok(()),
        Err(_) => Err(Error::invalid("config.stop_signal", format!("{raw} is no CRI signal"))),
    }
}

/// What StopContainer sends first to a container of `image` whose config asks for
/// `config_signal`: that signal, else the image's StopSignal, else SIGTERM.
pub fn resolve(config_signal: i32, image: &ImageEntry) -> i32 {
    if let Some(n) = Signal::try_from(config_signal).ok().and_then(from_cri) {
        return n;
    }
    signal_number(&ImageProcess::from_config(&image.config).stop_signal).unwrap_or(libc::SIGTERM)
}

/// What StopContainer sends first to `c`: kept since its create, or resolved now for a
/// container recorded without it.
pub fn effective(ctx: &Context, c: &Container) -> i32 {
    if c.meta.stop_signal != 0 {
        return c.meta.stop_signal;
    }
    match ctx.images.resolve(&c.meta.image_id) {
        Some(image) => resolve(c.config.stop_signal, &image),
        None => {
            Signal::try_from(c.config.stop_signal).ok().and_then(from_cri).unwrap_or(libc::SIGTERM)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_the_cri_enum_agree() {
        assert_eq!(signal_number("SIGQUIT"), Some(3));
        assert_eq!(signal_number("usr1"), Some(10));
        assert_eq!(signal_number("9"), Some(9));
        assert_eq!(signal_number("SIGRTMIN+2"), Some(36));
        assert_eq!(signal_number("SIGRTMAX-1"), Some(63));
        assert_eq!(signal_number("SIGNOPE"), None);
        assert_eq!(signal_number(""), None);
        assert_eq!(signal_number("99"), None);
        assert_eq!(from_cri(Signal::Sigquit), Some(libc::SIGQUIT));
        assert_eq!(from_cri(Signal::Sigrtminplus1), Some(35));
        assert_eq!(from_cri(Signal::Sigrtmaxminus14), Some(50));
        assert_eq!(from_cri(Signal::Sigrtmax), Some(64));
        assert_eq!(from_cri(Signal::RuntimeDefault), None);
        // Every named value maps to a number, and back to itself or an alias of it.
        for raw in 1..=65 {
            let s = Signal::try_from(raw).unwrap();
            let n = from_cri(s).unwrap_or_else(|| panic!("{s:?}"));
            assert_eq!(from_cri(to_cri(n)), Some(n));
        }
        assert_eq!(to_cri(libc::SIGABRT), Signal::Sigabrt);
        assert!(validate(23).is_ok());
        assert!(validate(66).unwrap_err().to_string().contains("config.stop_signal"));
    }

    #[test]
    fn the_config_then_the_image_then_sigterm() {
        let image = |config: &str| ImageEntry {
            config: std::sync::Arc::new(config.as_bytes().to_vec()),
            ..Default::default()
        };
        let quits = image(r#"{"config":{"StopSignal":"SIGQUIT"}}"#);
        assert_eq!(resolve(Signal::Sigusr1 as i32, &quits), libc::SIGUSR1);
        assert_eq!(resolve(Signal::RuntimeDefault as i32, &quits), libc::SIGQUIT);
        assert_eq!(resolve(0, &image("{}")), libc::SIGTERM);
    }
}
