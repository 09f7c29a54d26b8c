//! `elements-gateway config check`: every start-up rule that needs no network, applied
//! without starting anything, so a configuration can be checked where the upstream, the
//! identity service and the JWKS endpoint cannot be reached.

mod values;

use std::sync::Arc;

use crate::{
    app::{StartError, app_credentials, public_keys},
    config::{Setting, Settings, Written},
    metrics::Metrics,
    persisted::PersistedDocuments,
    shared::Shared,
};

/// Checks what `serve` would check before it listens, short of the network: the settings
/// themselves (the Redis URL's form included) were checked as they were loaded; here, with
/// `serve`'s own calls, the key and certificate files, the Redis client (which connects
/// lazily, so nothing is reached) and the persisted-documents manifest. The error is the line
/// `serve` would print.
pub(crate) async fn offline(settings: &Settings) -> Result<(), StartError> {
    app_credentials(settings)?;
    public_keys(&settings.jwt)?;
    let metrics = Arc::new(Metrics::default());
    Shared::new(&settings.redis, Arc::clone(&metrics))
        .map_err(|error| StartError::Redis(error.0))?;
    PersistedDocuments::from_settings(&settings.persisted, None, &metrics)
        .await
        .map_err(StartError::Persisted)?;
    Ok(())
}

/// The report: every setting by its names, with its effective value (defaults included,
/// every secret as `<set>`) and, for those the file or the environment sets, where.
pub(crate) fn report(written: &[Written], settings: &Settings) -> String {
    let rows: Vec<(String, String, &str)> = values::effective(settings, written)
        .into_iter()
        .map(|(name, value)| {
            let setting = Setting::named(name);
            let source = written
                .iter()
                .find(|set| set.setting == setting)
                .map_or("default", |set| set.source.as_str());
            (setting.to_string(), value, source)
        })
        .collect();
    let width = |column: fn(&(String, String, &str)) -> usize| rows.iter().map(column).max();
    let names = width(|row| row.0.len()).unwrap_or(0);
    let values = width(|row| row.1.len()).unwrap_or(0);
    let mut report = String::from("Effective settings (a secret shows as <set>):\n");
    for (name, value, source) in &rows {
        report.push_str(&format!("  {name:names$}  {value:values$}  {source}\n"));
    }
    report
}
