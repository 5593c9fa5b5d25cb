fn main() -> std::process::ExitCode {
    mayday::cli::run()
}
