use std::process::ExitCode;

use server::{settings::Settings, startup, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
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
    tracing::info!("listening on http://{}", app.local_addr());
    match app.run_until(startup::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("server failed: {e}");
            ExitCode::FAILURE
        }
    }
}
