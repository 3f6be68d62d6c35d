//! Instants as Unix seconds: RFC 3339 in and out (GitHub's `merged_at`, IAM's dates, the
//! ledger), and soak periods like `7d`. Pure apart from [`now`].

use aws_sdk_iam::primitives::{DateTime, DateTimeFormat};

/// Seconds since the Unix epoch.
pub type Seconds = i64;

pub fn now() -> Seconds {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `2026-11-25T10:00:00Z`.
pub fn format(at: Seconds) -> String {
    DateTime::from_secs(at)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| at.to_string())
}

/// The date part only, for tables.
pub fn format_date(at: Seconds) -> String {
    format(at).chars().take(10).collect()
}

pub fn parse(text: &str) -> Option<Seconds> {
    DateTime::from_str(text.trim(), DateTimeFormat::DateTime)
        .ok()
        .map(|d| d.secs())
}

#[derive(Debug, thiserror::Error)]
#[error("invalid duration `{0}`: use a number with a unit, e.g. 7d, 12h, 30m or 0s")]
pub struct BadDuration(String);

/// `7d`, `12h`, `30m`, `45s` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Seconds, BadDuration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let value: i64 = digits.parse().map_err(|_| BadDuration(text.into()))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(BadDuration(text.into())),
    };
    value
        .checked_mul(scale)
        .ok_or_else(|| BadDuration(text.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_durations() {
        let t = parse("2026-11-25T10:00:00Z").unwrap();
        assert_eq!(format(t), "2026-11-25T10:00:00Z");
        assert_eq!(format_date(t), "2026-11-25");
        assert_eq!(parse_duration("7d").unwrap(), 604_800);
        assert_eq!(parse_duration("90").unwrap(), 90);
        assert_eq!(parse_duration("2h").unwrap(), 7200);
        assert!(parse_duration("7 days").is_err());
        assert!(parse_duration("").is_err());
    }
}
