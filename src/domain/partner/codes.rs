//! The numbers the partner endpoints send for enumerations, and the names they stand for, as
//! the upstream's documents list them. A number not listed is kept by the caller (in the
//! `…Code` fields), never an error.

/// Declares an enumeration by its upstream numbers: `from_code` for a number the documents
/// list, `code` for the way back, and `ALL` in documented order.
macro_rules! coded {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $code:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub(crate) enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        #[allow(dead_code, reason = "generated alike for every enumeration, each of which uses some")]
        impl $name {
            /// Every value, in the documents' order.
            pub(crate) const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The value the upstream's number stands for; `None` for a number the documents
            /// do not list.
            pub(crate) fn from_code(code: i64) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The upstream's number for this value.
            pub(crate) fn code(self) -> i64 {
                match self {
                    $(Self::$variant => $code,)+
                }
            }
        }
    };
}

coded! {
    /// Who manages a customer's tenant (`customers/batch` `managementMode`).
    ManagementMode {
        /// The customer manages its tenant.
        CustomerManaged = 0,
        /// The partner manages the customer's tenant.
        PartnerManaged = 1,
        /// Not configured yet.
        ToBeConfigured = 2,
    }
}

coded! {
    /// The state of a customer's backups (`customers/batch` `jobStatus`; 0, "N/A", is none).
    BackupStatus {
        /// Backups are working.
        Working = 1,
        /// Backups failed.
        Failed = 2,
        /// Waiting for configuration.
        WaitingForConfiguration = 3,
        /// Several issues were found.
        MultipleIssues = 4,
        /// Finished with an exception.
        FinishedWithException = 5,
        /// No backup updates.
        NoBackupUpdates = 6,
    }
}

coded! {
    /// The platform of a third-party tenant (the seats endpoint's `type`).
    Platform {
        /// Microsoft 365.
        Microsoft365 = 0,
        /// Salesforce.
        Salesforce = 1,
        /// Google.
        Google = 2,
        /// Dynamics 365.
        Dynamics365 = 3,
    }
}

coded! {
    /// The backup service a job belongs to (`jobType`).
    BackupService {
        /// Microsoft 365 scan.
        Microsoft365Scan = 0,
        /// Microsoft 365.
        Microsoft365 = 7,
        /// Google Workspace scan.
        GoogleWorkspaceScan = 10,
        /// Google Workspace.
        GoogleWorkspace = 11,
        /// IaaS + PaaS.
        IaasPaas = 12,
        /// Salesforce.
        Salesforce = 15,
        /// Dynamics 365.
        Dynamics365 = 16,
    }
}

coded! {
    /// A backup job's state (`status`).
    JobStatus {
        /// None.
        None = 0,
        /// Running.
        Running = 1,
        /// Finished.
        Finished = 2,
        /// Failed.
        Failed = 3,
        /// Finished with an exception.
        FinishedWithException = 4,
        /// Skipped.
        Skipped = 5,
        /// Pending.
        Pending = 6,
        /// Failed to start.
        FailedToStart = 7,
        /// Canceled.
        Canceled = 8,
        /// Rejected.
        Rejected = 9,
        /// Stopped.
        Stopped = 10,
        /// Not scanned.
        NotScanned = 11,
        /// Disabled.
        Disabled = 12,
        /// Not started.
        NotStarted = 13,
        /// Waiting for configuration.
        WaitingForConfiguration = 14,
    }
}

/// The documented name of a job module (`jobModule`); `None` for 0 ("None") and for a number
/// the documents do not list.
pub(crate) fn module_name(code: i64) -> Option<&'static str> {
    Some(match code {
        8 => "Archiver",
        10 => "Retention",
        302 => "SharePoint Online",
        303 => "Exchange Online",
        304 => "Microsoft 365 Groups",
        305 => "OneDrive",
        306 => "Project Online",
        307 => "Exchange Online Public Folder",
        308 => "Microsoft Teams",
        309 => "Archiver",
        310 => "Power BI",
        311 => "Power Automate",
        312 => "Power Apps",
        355 => "Cloud Backup for Azure",
        356 => "Azure Virtual Machine",
        357 => "Disk",
        358 => "Microsoft Entra ID",
        359 => "Storage",
        360 => "Admin Portal Settings",
        361 => "Amazon EC2",
        362 => "Azure SQL",
        363 => "Dev Ops",
        364 => "Microsoft Entra ID B2C",
        365 => "Azure SQL Backup",
        366 => "Google Virtual Machine Instance",
        401 => "Dynamics 365",
        402 => "Viva Engage",
        501 => "Gmail",
        502 => "Calendar",
        503 => "Contacts",
        504 => "Drive",
        505 => "Shared Drives",
        506 => "Google Classroom",
        507 => "Chat",
        508 => "Google Directory",
        550 => "Dynamics CRM Backup",
        551 => "Dynamics Unified Operations Backup",
        _ => return None,
    })
}

/// Every documented module number but 0, for the mock's data and the tests.
pub(crate) const MODULE_CODES: &[i64] = &[
    8, 10, 302, 303, 304, 305, 306, 307, 308, 309, 310, 311, 312, 355, 356, 357, 358, 359, 360,
    361, 362, 363, 364, 365, 366, 401, 402, 501, 502, 503, 504, 505, 506, 507, 508, 550, 551,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_go_both_ways_and_unknown_numbers_are_none() {
        for status in JobStatus::ALL {
            assert_eq!(JobStatus::from_code(status.code()), Some(*status));
        }
        assert_eq!(JobStatus::ALL.len(), 15);
        assert_eq!(
            BackupService::from_code(7),
            Some(BackupService::Microsoft365)
        );
        assert_eq!(BackupService::from_code(8), None);
        assert_eq!(BackupStatus::from_code(0), None);
        assert_eq!(
            BackupStatus::from_code(6),
            Some(BackupStatus::NoBackupUpdates)
        );
        assert_eq!(ManagementMode::from_code(3), None);
        assert_eq!(Platform::from_code(3), Some(Platform::Dynamics365));
    }

    #[test]
    fn every_listed_module_has_a_name_and_none_is_null() {
        for code in MODULE_CODES {
            assert!(module_name(*code).is_some(), "{code}");
        }
        assert_eq!(module_name(0), None);
        assert_eq!(module_name(999), None);
        assert_eq!(module_name(303), Some("Exchange Online"));
    }
}
