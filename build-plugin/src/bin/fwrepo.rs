use clap::Parser;

fn main() {
    let cli = fwrepo::cli::FwrepoCli::parse();
    std::process::exit(fwrepo::cli::run(cli));
}
