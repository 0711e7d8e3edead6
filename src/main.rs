// mimalloc (its v2): the read commands allocate tens of thousands of rows at once and exit;
// with glibc's malloc a fifth of a `show` went to page faults and heap growth.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(beacon_blackbox::cli::main());
}
