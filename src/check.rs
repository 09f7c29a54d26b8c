//! `elements-gateway config check`: every start-up rule that needs no network, applied
//! without starting anything, so a configuration can be checked where the upstream, the
//! identity service and the JWKS endpoint cannot be reached.

use std::sync::Arc;

use crate::{
    app::{StartError, app_credentials, public_keys},
    config::{Settings, Written},
    metrics::Metrics,
    persisted::PersistedDocuments,
    shared,
};

/// Checks what `serve` would check before it listens, short of the network: the settings
/// themselves were checked as they were loaded; here the key and certificate files, the Redis
/// URL and the persisted-documents manifest. The error is the line `serve` would print.
pub(crate) async fn offline(settings: &Settings) -> Result<(), StartError> {
    app_credentials(settings)?;
    public_keys(&settings.jwt)?;
    shared::check(&settings.redis).map_err(|error| StartError::Redis(error.0))?;
    PersistedDocuments::from_settings(&settings.persisted, None, &Arc::new(Metrics::default()))
        .await
        .map_err(StartError::Persisted)?;
    Ok(())
}

/// The report: each setting the file or the environment sets, by name, with where; then the
/// effective settings, defaults included. Every secret is shown as `<set>`.
pub(crate) fn report(written: &[Written], settings: &Settings) -> String {
    let width = |text: fn(&Written) -> usize| written.iter().map(text).max().unwrap_or(0);
    let (names, values) = (
        width(|set| set.setting.to_string().len()),
        width(|set| set.value.len()),
    );
    let mut report = String::from("Set (every other setting has its default):\n");
    if written.is_empty() {
        report.push_str("  nothing\n");
    }
    for set in written {
        let name = set.setting.to_string();
        let value = &set.value;
        report.push_str(&format!(
            "  {name:names$}  {value:values$}  {}\n",
            set.source
        ));
    }
    report.push_str("\nEffective settings, defaults included:\n");
    report.push_str(&format!("{settings:#?}").replace("[redacted]", "<set>"));
    report
}
