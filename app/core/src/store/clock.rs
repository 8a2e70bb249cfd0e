//! The device's clock in the documents' unit (milliseconds since the Unix epoch).

use homerehab_shared::model::Millis;

pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
