//! A target as stored: the definition columns of its row, as read (whatever was typed
//! in), and where it came from. `target::TargetDef` is the validated form.

/// Where a target row came from; reloads only touch `Config` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A `[[target]]` entry of the config file.
    Config,
    /// `skypunchctl targets add`.
    Cli,
    /// Anything else (an `INSERT` by hand).
    Sql,
}

impl Origin {
    /// The value stored in the `origin` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Cli => "cli",
            Origin::Sql => "sql",
        }
    }
}

/// The definition columns of a `targets` row, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetRow {
    /// Row id.
    pub id: i64,
    /// Unique name, as shown in tables, logs and alert texts.
    pub name: String,
    /// URL.
    pub url: String,
    /// Method as stored (any case).
    pub method: String,
    /// `NONE`, `BASIC` or `OPENSTACK` (any case).
    pub authn: String,
    /// Skypunch's `user=..,password=..` string or a JSON object.
    pub authn_params: String,
    /// Expected status.
    pub expect_status: i64,
    /// Seconds between checks.
    pub frequency: i64,
    /// Seconds per check.
    pub timeout: i64,
    /// Checked or not.
    pub enabled: bool,
    /// JSON of the further options (`target::TargetOptions`).
    pub options: String,
    /// A column typed in by hand that does not hold its type (`frequency = 0.5`),
    /// named with what it should hold; such a row is checked as a FAIL saying so.
    pub unreadable: Option<String>,
}
