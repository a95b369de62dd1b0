use clap::Parser;
use fwrepo_server::cli::{run_backup_command, run_client_command, run_user_command, Cli, Command};

fn main() -> std::process::ExitCode {
    let runtime = match fwrepo_server::server::main_runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("fwrepo-server: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(Cli::parse()))
}

async fn run(cli: Cli) -> std::process::ExitCode {
    let outcome = match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => match args.resolve() {
            Ok(config) => {
                fwrepo_server::init_tracing(config.log_json);
                fwrepo_server::server::serve(config).await
            }
            Err(e) => Err(e),
        },
        Command::Client(command) => run_client_command(command),
        Command::User(command) => run_user_command(command),
        Command::Fsck(args) => fwrepo_server::fsck::run_command(args).await,
        Command::Backup(args) => run_backup_command(args).await,
        Command::Restore(args) => fwrepo_server::restore::run_command(args).await,
        Command::Blobs(command) => fwrepo_server::migrate::run_command(command).await,
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // The cause chain on one line: what went wrong and why, without a backtrace.
            eprintln!("fwrepo-server: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
