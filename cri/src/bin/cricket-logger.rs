//! cricket-logger: drains one container's stdout and stderr into the CRI log file, and reopens
//! the file on SIGUSR1 (kubelet's rotation). It never stops draining: if the disk write fails
//! the records are dropped, never the container blocked. It exits when both streams close.
//! For a container with stdin it holds the stdin FIFO open, so that stdin outlives cricket,
//! until SIGUSR2 (a `stdin_once` container's attach ended). It also serves the attach socket
//! (`cricket::logs::attach_socket`) with the raw output.
//!
//! Two ways to start it: by the runc shim through a `binary://` log URI (the streams are
//! pipes it hands over), or by cricket as `cricket-logger fifos <key> <value>...` for a
//! container whose plain stdin needs the shim's FIFO mode (the streams are FIFOs to open).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use containerd_shim_logging::{Config, Driver};
use cricket::locks::MutexExt;
use cricket::logs::{Attachers, LineSplitter, LoggerArgs};
use cricket::sys::signal::SignalSet;

/// Where a stream comes from: a pipe already open, or a FIFO to open (which waits for the
/// shim to open its end).
enum Source {
    Pipe(File),
    Fifo(PathBuf),
}

impl Source {
    fn open(self) -> std::io::Result<File> {
        match self {
            Source::Pipe(f) => Ok(f),
            Source::Fifo(p) => File::open(p),
        }
    }
}

struct Logger {
    path: PathBuf,
    file: Arc<Mutex<Option<File>>>,
    stdout: Source,
    stderr: Source,
    /// The container's stdin FIFO, held open for writing until SIGUSR2 or the logger's end.
    stdin: Arc<Mutex<Option<File>>>,
    attachers: Option<Arc<Attachers>>,
}

fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).mode(0o640).open(path)
}

fn pump(
    source: Source,
    stream: &'static str,
    file: Arc<Mutex<Option<File>>>,
    attachers: Option<Arc<Attachers>>,
) {
    let channel = if stream == "stdout" { 1 } else { 2 };
    let Ok(mut pipe) = source.open() else { return };
    let mut splitter = LineSplitter::new(stream);
    let mut buf = vec![0u8; 32 * 1024];
    let mut records = Vec::new();
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if let Some(a) = &attachers {
            a.send(channel, &buf[..n]);
        }
        splitter.feed(&buf[..n], SystemTime::now(), &mut records);
        write(&file, &mut records);
    }
    splitter.finish(SystemTime::now(), &mut records);
    write(&file, &mut records);
}

fn write(file: &Mutex<Option<File>>, records: &mut Vec<u8>) {
    if records.is_empty() {
        return;
    }
    if let Some(f) = file.locked().as_mut() {
        let _ = f.write_all(records);
    }
    records.clear();
}

/// The signals handled by [`on_signals`], blocked in every thread.
const HANDLED: [libc::c_int; 2] = [libc::SIGUSR1, libc::SIGUSR2];

/// SIGUSR1 reopens the log file (rotation); SIGUSR2 lets go of stdin (end of `stdin_once`).
fn on_signals(path: PathBuf, file: Arc<Mutex<Option<File>>>, stdin: Arc<Mutex<Option<File>>>) {
    let Ok(signals) = SignalSet::new(&HANDLED) else { return };
    loop {
        if signals.wait() == libc::SIGUSR2 {
            stdin.locked().take();
            continue;
        }
        let reopened = open(&path).ok();
        *file.locked() = reopened;
    }
}

impl Logger {
    fn start(args: LoggerArgs, stdout: Source, stderr: Source) -> Result<Logger, String> {
        let file = open(&args.path).map_err(|e| format!("open {}: {e}", args.path.display()))?;
        // Read-write: never blocks, and this end never reads, so input reaches only the shim.
        let stdin = match &args.stdin {
            Some(p) => Some(
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(p)
                    .map_err(|e| format!("open {}: {e}", p.display()))?,
            ),
            None => None,
        };
        let attachers = match &args.attach {
            Some(p) => Some(
                Attachers::listen(p).map_err(|e| format!("attach socket {}: {e}", p.display()))?,
            ),
            None => None,
        };
        std::fs::write(&args.pidfile, std::process::id().to_string())
            .map_err(|e| format!("write {}: {e}", args.pidfile.display()))?;
        let stdin = Arc::new(Mutex::new(stdin));
        Ok(Logger {
            path: args.path,
            file: Arc::new(Mutex::new(Some(file))),
            stdout,
            stderr,
            stdin,
            attachers,
        })
    }
}

/// `cricket-logger fifos ...`: started by cricket, detached, before the task exists.
fn run_on_fifos() -> Result<(), String> {
    let args = LoggerArgs::parse(std::env::args().skip(2))?;
    let (stdout, stderr) =
        (args.stdout.clone().ok_or("no stdout")?, args.stderr.clone().ok_or("no stderr")?);
    Logger::start(args, Source::Fifo(stdout), Source::Fifo(stderr))?.run()
}

impl Driver for Logger {
    type Error = String;

    fn new(config: Config) -> Result<Self, String> {
        let args = LoggerArgs::parse(std::env::args().skip(1))?;
        Logger::start(args, Source::Pipe(config.stdout), Source::Pipe(config.stderr))
    }

    fn run(self) -> Result<(), String> {
        let (path, file, stdin) = (self.path.clone(), self.file.clone(), self.stdin.clone());
        std::thread::spawn(move || on_signals(path, file, stdin));
        let out = {
            let (f, a) = (self.file.clone(), self.attachers.clone());
            std::thread::spawn(move || pump(self.stdout, "stdout", f, a))
        };
        let err = {
            let (f, a) = (self.file.clone(), self.attachers.clone());
            std::thread::spawn(move || pump(self.stderr, "stderr", f, a))
        };
        let _ = out.join();
        let _ = err.join();
        if let Some(a) = &self.attachers {
            a.finish();
        }
        Ok(())
    }
}

fn main() {
    // The shim sends SIGTERM once the container is gone: finish draining instead of dying.
    cricket::sys::signal::ignore(libc::SIGTERM);
    if let Err(e) = SignalSet::new(&HANDLED).and_then(|s| s.block()) {
        eprintln!("cricket-logger: block signals: {e}");
        std::process::exit(1);
    }
    if std::env::args().nth(1).as_deref() == Some("fifos") {
        if let Err(e) = run_on_fifos() {
            eprintln!("cricket-logger: {e}");
            std::process::exit(1);
        }
        return;
    }
    containerd_shim_logging::run::<Logger>();
}
