use clap::Parser;

fn main() {
    let fwrepo::cli::CargoCli::Fwrepo(cli) = fwrepo::cli::CargoCli::parse();
    std::process::exit(fwrepo::cli::run(cli));
}
