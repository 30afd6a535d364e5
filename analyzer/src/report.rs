//! Reading a report the project wrote (the watchdog's report file, `analyze --format
//! json`, `check --format json`), for `waitgraph report` to render.

use std::path::Path;
use waitgraph_core::report::{Report, SCHEMA};

/// Largest report read: past this it is not one the project wrote.
const MAX_REPORT: u64 = 256 << 20;

/// Reads and checks the report at `path`: a clear error for a file that is not a report,
/// a report of another schema version, or JSON that does not fit (with line and column).
pub fn read_report(path: &Path) -> Result<Report, String> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {shown}: {e}"))?
        .len();
    if size > MAX_REPORT {
        return Err(format!(
            "{shown} is {size} bytes: not a waitgraph report (they stay under {MAX_REPORT})"
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{shown}:{}:{}: not JSON: {e}", e.line(), e.column()))?;
    match value.get("schema").map(serde_json::Value::as_u64) {
        None => {
            return Err(format!(
                "{shown}: not a waitgraph report: it has no `schema` field (a trace? `waitgraph analyze` reads traces)"
            ))
        }
        Some(Some(schema)) if schema == u64::from(SCHEMA) => {}
        Some(Some(other)) => {
            return Err(format!(
                "{shown}: report schema {other} is not known to this waitgraph, which reads schema {SCHEMA}: render it with the waitgraph that wrote it"
            ))
        }
        Some(None) => {
            return Err(format!(
                "{shown}: `schema` must be a number (this waitgraph reads schema {SCHEMA})"
            ))
        }
    }
    // From the text again, not the value: serde_json's errors then name the line.
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{shown}:{}:{}: not a report of schema {SCHEMA}: {e}",
            e.line(),
            e.column()
        )
    })
}
