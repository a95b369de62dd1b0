use clap::Parser;
use fwrepo_server::cli::{run_client_command, Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => {
            let config = args.resolve()?;
            fwrepo_server::init_tracing(config.log_json);
            fwrepo_server::server::serve(config).await
        }
        Command::Client(command) => run_client_command(command),
        Command::Fsck(args) => fwrepo_server::fsck::run_command(args),
    }
}
