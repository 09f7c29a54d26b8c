//! `elements-gateway config check`: every start-up rule that needs no network, applied
//! without starting anything, so a configuration can be checked where the upstream, the
//! identity service and the JWKS endpoint cannot be reached.

use std::sync::Arc;

use crate::{
    app::{StartError, app_credentials, public_keys},
    config::Settings,
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

/// The effective settings, defaults included, with every secret shown as `<set>`.
pub(crate) fn effective(settings: &Settings) -> String {
    format!("{settings:#?}").replace("[redacted]", "<set>")
}
