//! What the four partner endpoints send, verbatim: every value kept as its text (a number in
//! a string's place, or a string in a number's, is its JSON text), a missing field `None`.
//! Only a wrong shape is refused (an object where a value belongs, an item without its id).

use serde::{Deserialize, Deserializer, Serialize};

use crate::domain::raw::{lenient_text, null_as_empty};

/// Text the upstream may send, verbatim.
type Text = Option<Box<str>>;

/// A customer of `customers/batch`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawCustomerDetails {
    /// The customer's id: the `customerId` of `services/batch`.
    #[serde(deserialize_with = "required_id")]
    pub id: Box<str>,
    /// The organisation's name.
    #[serde(default, deserialize_with = "lenient_text")]
    pub organization: Text,
    /// The owner's e-mail address.
    #[serde(default, deserialize_with = "lenient_text")]
    pub owner_email: Text,
    /// The backup status's number (0–6).
    #[serde(default, deserialize_with = "lenient_text")]
    pub job_status: Text,
    /// The country or region.
    #[serde(default, deserialize_with = "lenient_text")]
    pub country_or_region: Text,
    /// The management mode's number (0–2).
    #[serde(default, deserialize_with = "lenient_text")]
    pub management_mode: Text,
    /// The customer's tenants; a missing or null list is none.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tenants: Vec<RawTenant>,
}

/// A tenant of a customer, as `customers/batch` lists it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct RawTenant {
    /// The tenant's id.
    #[serde(default, deserialize_with = "lenient_text")]
    pub id: Text,
    /// The tenant's name.
    #[serde(default, deserialize_with = "lenient_text")]
    pub name: Text,
}

/// A backup job of `avpt-products/jobs/batch`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawJob {
    /// The service's number (`jobType`).
    #[serde(default, deserialize_with = "lenient_text")]
    pub job_type: Text,
    /// The module's number (`jobModule`).
    #[serde(default, deserialize_with = "lenient_text")]
    pub job_module: Text,
    /// The state's number (0–14).
    #[serde(default, deserialize_with = "lenient_text")]
    pub status: Text,
    /// The job's id.
    #[serde(default, deserialize_with = "lenient_text")]
    pub job_id: Text,
    /// The job's name.
    #[serde(default, deserialize_with = "lenient_text")]
    pub name: Text,
    /// Objects processed (a string of digits).
    #[serde(default, deserialize_with = "lenient_text")]
    pub total_count: Text,
    /// Objects failed.
    #[serde(default, deserialize_with = "lenient_text")]
    pub failed_count: Text,
    /// Objects backed up.
    #[serde(default, deserialize_with = "lenient_text")]
    pub successful_count: Text,
    /// Objects skipped.
    #[serde(default, deserialize_with = "lenient_text")]
    pub skipped_count: Text,
    /// Objects with warnings.
    #[serde(default, deserialize_with = "lenient_text")]
    pub warning_count: Text,
    /// The size backed up (`"0 GB"`).
    #[serde(default, deserialize_with = "lenient_text")]
    pub backup_size: Text,
    /// When the job started.
    #[serde(default, deserialize_with = "lenient_text")]
    pub start_time: Text,
    /// When the job ended.
    #[serde(default, deserialize_with = "lenient_text")]
    pub end_time: Text,
    /// How long the job took (`"17m39s"`).
    #[serde(default, deserialize_with = "lenient_text")]
    pub job_duration: Text,
    /// When the job last changed.
    #[serde(default, deserialize_with = "lenient_text")]
    pub last_modify_time: Text,
}

/// A tenant's seats, from the tenant seats endpoint; older documents name the fields
/// `tenantId` and `tenantName`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawSeats {
    /// The tenant's id.
    #[serde(default, alias = "tenantId", deserialize_with = "lenient_text")]
    pub id: Text,
    /// The tenant's name.
    #[serde(default, alias = "tenantName", deserialize_with = "lenient_text")]
    pub name: Text,
    /// Seats available.
    #[serde(default, deserialize_with = "lenient_text")]
    pub available_user_seat: Text,
    /// Seats assigned.
    #[serde(default, deserialize_with = "lenient_text")]
    pub assigned_user_seat: Text,
}

/// One protected module of `cloud-backup-m365/overview`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawCoverage {
    /// The customer's id.
    #[serde(default, deserialize_with = "lenient_text")]
    pub customer_id: Text,
    /// The tenant's id.
    #[serde(default, deserialize_with = "lenient_text")]
    pub tenant_id: Text,
    /// The customer's e-mail address.
    #[serde(default, deserialize_with = "lenient_text")]
    pub customer: Text,
    /// The service's name.
    #[serde(default, deserialize_with = "lenient_text")]
    pub service_type: Text,
    /// The module's name (`"Exchange Online"`).
    #[serde(default, deserialize_with = "lenient_text")]
    pub service_module: Text,
    /// When the module was last backed up (seen as `09/20/2026T13:00:00Z`).
    #[serde(default, deserialize_with = "lenient_text")]
    pub last_run_time: Text,
    /// Objects scanned.
    #[serde(default, deserialize_with = "lenient_text")]
    pub total_scanned_objects: Text,
    /// Objects backed up.
    #[serde(default, deserialize_with = "lenient_text")]
    pub total_protected_objects: Text,
    /// Data stored with AvePoint (`"0 GB"`).
    #[serde(
        default,
        rename = "dataSizeStoredInAvePoint",
        deserialize_with = "lenient_text"
    )]
    pub stored_in_avepoint: Text,
    /// Data stored in the customer's own storage (`"N/A"`).
    #[serde(
        default,
        rename = "dataSizeStoredInBYOS",
        deserialize_with = "lenient_text"
    )]
    pub stored_in_byos: Text,
}

/// An item's `id`: there and not blank, since nothing can be looked up without it.
fn required_id<'de, D: Deserializer<'de>>(de: D) -> Result<Box<str>, D::Error> {
    use serde::de::Error;
    match lenient_text(de)? {
        Some(text) if !text.trim().is_empty() => Ok(text),
        _ => Err(D::Error::custom("id is missing or empty")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_kept_as_text_whatever_their_json_type() {
        let job: RawJob = serde_json::from_str(
            r#"{"jobType": 7, "jobModule": "303", "status": 3, "totalCount": "2323",
                "failedCount": 0, "backupSize": "0 GB", "jobDuration": "17m39s"}"#,
        )
        .unwrap();
        assert_eq!(job.job_type.as_deref(), Some("7"));
        assert_eq!(job.job_module.as_deref(), Some("303"));
        assert_eq!(job.failed_count.as_deref(), Some("0"));
        assert_eq!(job.end_time, None);
    }

    #[test]
    fn seats_read_either_name() {
        let seats: RawSeats = serde_json::from_str(
            r#"{"tenantId": "t1", "tenantName": "A", "availableUserSeat": 25, "assignedUserSeat": "30"}"#,
        )
        .unwrap();
        assert_eq!(seats.id.as_deref(), Some("t1"));
        assert_eq!(seats.name.as_deref(), Some("A"));
        assert_eq!(seats.available_user_seat.as_deref(), Some("25"));
    }

    #[test]
    fn a_customer_without_an_id_or_an_object_for_a_value_is_a_wrong_shape() {
        assert!(serde_json::from_str::<RawCustomerDetails>(r#"{"organization": "A"}"#).is_err());
        assert!(
            serde_json::from_str::<RawCustomerDetails>(r#"{"id": "c1", "jobStatus": {"a": 1}}"#)
                .is_err()
        );
        let details: RawCustomerDetails =
            serde_json::from_str(r#"{"id": "c1", "tenants": null}"#).unwrap();
        assert!(details.tenants.is_empty());
    }
}
