fn main() {
    std::process::exit(beacon_blackbox::cli::main());
}
