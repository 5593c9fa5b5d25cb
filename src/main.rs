/// glibc's malloc spent about a tenth of the server's CPU under the WebSocket load scenario
/// (frame buffers allocated and freed per delivered message, with consolidation passes);
/// jemalloc is cheaper per allocation and keeps less memory per idle session (mimalloc,
/// also tried, was as fast but kept twice the memory per idle session).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    mayday::cli::run()
}
