//! Raw flags shared by the subcommands, as clap reads them; `config` validates them.

use chrono::{DateTime, Utc};
use clap::Args;
use std::path::PathBuf;
use xdrmap::value::time::DateOrder;

/// Which guides to load, and which one to force.
#[derive(Clone, Debug, Args)]
pub struct GuideArgs {
    /// A guide file, a device folder (with guide.yaml) or a folder of devices, instead of the
    /// built-in devices.
    #[arg(long, value_name = "PATH")]
    pub mapping: Option<PathBuf>,

    /// Map every line with this guide instead of the one that claims it.
    #[arg(long, value_name = "NAME")]
    pub guide: Option<String>,

    #[command(flatten)]
    pub limits: LimitArgs,
}

/// The limits guides, grammars and expressions must keep (`xdrmap::limits`).
#[derive(Clone, Debug, Default, Args)]
pub struct LimitArgs {
    /// Raise or lower a limit on guides, grammars and expressions, as NAME=VALUE; may repeat.
    /// NAME is guide-bytes, guide-items, grammar-bytes, grammar-repeat, grammar-operators,
    /// grammar-expansion, expr-bytes, expr-fuel or template-fuel (`xdrmap check --limits`
    /// lists them with their defaults).
    #[arg(long = "limit", value_name = "NAME=VALUE", value_parser = parse_limit)]
    pub assignments: Vec<String>,
}

impl LimitArgs {
    /// The defaults with every `--limit` applied (each was checked as clap read it).
    pub fn limits(&self) -> xdrmap::Limits {
        let mut limits = xdrmap::Limits::default();
        for a in &self.assignments {
            let _ = limits.set(a);
        }
        limits
    }
}

fn parse_limit(s: &str) -> Result<String, String> {
    xdrmap::Limits::default().set(s).map(|()| s.to_string())
}

/// How to read times and what to put in the run-time fields.
#[derive(Clone, Debug, Args)]
pub struct ReadArgs {
    /// Order of native dates, as the appliance's `-dateFormat` (YYYY/MM/DD is always read).
    #[arg(long, value_name = "ORDER", default_value = "MMDDYYYY", value_parser = parse_order)]
    pub date_format: DateOrder,

    /// The date order of one device, as DEVICE=ORDER (the device as its lines name it, e.g.
    /// `adc-fra-01=DDMMYYYY`); may repeat. Other devices use --date-format.
    #[arg(long, value_name = "DEVICE=ORDER", value_parser = parse_device_order)]
    pub date_format_for: Vec<(String, DateOrder)>,

    /// Zone of times written without one (`-timeZone LOCAL_TIME`), as an IANA name.
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = parse_zone)]
    pub timezone: chrono_tz::Tz,

    /// Value of the CustomerId field.
    #[arg(long, value_name = "ID", env = "XDRMAP_CUSTOMER_ID")]
    pub customer_id: Option<String>,

    /// Value of the CollectorId field.
    #[arg(long, value_name = "ID", env = "XDRMAP_COLLECTOR_ID")]
    pub collector_id: Option<String>,

    /// Value of the EventSourceId field.
    #[arg(long, value_name = "ID", env = "XDRMAP_EVENT_SOURCE_ID")]
    pub event_source_id: Option<String>,

    /// Use this receive time (RFC 3339) instead of the clock, for reproducible output.
    #[arg(long, value_name = "TIME", value_parser = parse_received)]
    pub received_at: Option<DateTime<Utc>>,
}

fn parse_order(s: &str) -> Result<DateOrder, String> {
    s.parse()
}

fn parse_device_order(s: &str) -> Result<(String, DateOrder), String> {
    let (device, order) = s.split_once('=').ok_or_else(|| format!("expected DEVICE=ORDER, not '{s}'"))?;
    if device.is_empty() {
        return Err(format!("expected DEVICE=ORDER, not '{s}' (the device is missing)"));
    }
    Ok((device.to_string(), order.parse()?))
}

fn parse_zone(s: &str) -> Result<chrono_tz::Tz, String> {
    s.parse().map_err(|_| format!("unknown time zone '{s}' (expected an IANA name such as Europe/Berlin)"))
}

fn parse_received(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|e| format!("not an RFC 3339 time: {e}"))
}

/// A byte count with an optional K, M or G suffix (powers of 1024).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, shift) = match t.as_bytes().last() {
        Some(b'K' | b'k') => (&t[..t.len() - 1], 10),
        Some(b'M' | b'm') => (&t[..t.len() - 1], 20),
        Some(b'G' | b'g') => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    let n: u64 = digits.parse().map_err(|_| format!("expected a byte count such as 65536 or 64K, not '{s}'"))?;
    n.checked_mul(1 << shift).filter(|n| *n > 0).ok_or_else(|| format!("'{s}' is out of range"))
}

/// How to reach the NATS servers, and how to make the streams that are missing.
#[derive(Clone, Debug, Args)]
pub struct BusArgs {
    /// A credentials file (JWT and NKey seed) for the servers.
    #[arg(long, value_name = "FILE")]
    pub creds: Option<PathBuf>,

    /// User name for the servers (with --password, or NATS_PASSWORD).
    #[arg(long, value_name = "NAME", requires = "password")]
    pub user: Option<String>,

    /// Password for --user.
    #[arg(long, value_name = "PASSWORD", env = "NATS_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,

    /// A token for the servers (or NATS_TOKEN).
    #[arg(long, value_name = "TOKEN", env = "NATS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Require TLS to the servers, their certificates signed by this CA (PEM).
    #[arg(long, value_name = "FILE")]
    pub nats_ca: Option<PathBuf>,

    /// Replicas of a stream xdrmap creates (3 on a three-node cluster).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub replicas: u8,

    /// How long a stream xdrmap creates keeps a message, in hours (0: until deleted).
    #[arg(long, value_name = "HOURS", default_value_t = 24)]
    pub max_age_hours: u64,

    /// How long a stream remembers a Nats-Msg-Id, in seconds: a message published again
    /// within it (a redelivery mapped again) is dropped as a duplicate.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub dedupe_window: u64,
}

impl BusArgs {
    /// The bus configuration for the servers `urls` (comma-separated, as NATS tools take them).
    pub fn config(&self, urls: &str) -> xdrmap::bus::BusConfig {
        xdrmap::bus::BusConfig {
            servers: urls.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
            creds: self.creds.clone(),
            user: self.user.clone().zip(self.password.clone()),
            token: self.token.clone(),
            tls_ca: self.nats_ca.clone(),
            tls: false,
            replicas: usize::from(self.replicas),
            max_age: std::time::Duration::from_secs(self.max_age_hours.saturating_mul(3600)),
            duplicate_window: std::time::Duration::from_secs(self.dedupe_window.max(1)),
        }
    }
}
