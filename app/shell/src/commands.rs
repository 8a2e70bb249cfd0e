//! The Tauri transport: ONE command, `call(operation, request)`, for every operation declared
//! in `homerehab_app_api::operations`. The UI sends the operation's name and its request
//! (path parameters, `query`, `body`) as JSON; the service finds the operation by name, checks
//! who may call it and runs it ([`Core::call_by_name`]). Errors are `{kind, message}`, exactly
//! what the HTTP transport answers. Adding an operation needs nothing here.

use homerehab_app_api::ApiError;
use homerehab_app_service::Core;
use tauri::State;

/// Runs one declared operation. Logs the operation's name at debug level (the UI asks for the
/// status every 2 s) — never its request: it holds PINs, passwords and citizen data.
#[tauri::command(rename_all = "snake_case")]
pub async fn call(
    core: State<'_, Core>,
    operation: String,
    request: serde_json::Value,
) -> Result<serde_json::Value, ApiError> {
    tracing::debug!(command = %operation, "invoke");
    core.call_by_name(&operation, request)
        .await
        .map_err(ApiError::from)
}

/// The invoke handler with the one command.
pub fn handler<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static
{
    tauri::generate_handler![call]
}
