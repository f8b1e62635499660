fn main() -> std::process::ExitCode {
    cricket::cli::run()
}
