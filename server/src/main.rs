use std::process::ExitCode;

use server::{
    cli::{self, Command},
    settings::Settings,
    startup, telemetry,
};

/// Rendering a large page builds deeply nested view types; in debug builds their futures need
/// more than tokio's default 2 MiB of stack per worker thread.
const WORKER_STACK_BYTES: usize = 8 * 1024 * 1024;

#[allow(
    clippy::print_stdout,
    reason = "`server help` prints the usage, `--version` the version, `statements` the SQL"
)]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(Command::Help) => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("{}", cli::version());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Statements { keyword }) => {
            return match cli::statements(keyword.as_deref()) {
                Ok(statements) => {
                    println!("{statements}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Ok(command) => command,
        Err(e) => {
            eprintln!("error: {e}\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK_BYTES)
        .build()
    {
        Ok(runtime) => runtime.block_on(async {
            match command {
                Command::Serve => serve().await,
                command => match Settings::from_env() {
                    Ok(settings) => cli::run(command, settings).await,
                    Err(e) => {
                        eprintln!("error: {e}");
                        ExitCode::FAILURE
                    }
                },
            }
        }),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(&settings);

    let app = match startup::Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("start-up failed: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        "listening on http://{} (open {})",
        app.local_addr(),
        app.base_url()
    );
    if let Some(metrics) = app.metrics_addr() {
        tracing::info!("metrics on http://{metrics}/metrics");
    }
    match app.run_until(startup::shutdown_signal()).await {
        Ok(startup::Stopped::Drained) => ExitCode::SUCCESS,
        // Requests were cut off: worth a look, so not a clean exit.
        Ok(startup::Stopped::GraceOver) => ExitCode::FAILURE,
        Err(e) => {
            tracing::error!("server failed: {e}");
            ExitCode::FAILURE
        }
    }
}
