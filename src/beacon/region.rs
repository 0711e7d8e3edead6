//! Region aliases: the portal speaks `US`/`EU`/`ASIA`/`APAC`, the job-runner path and the
//! router speak `us-east`/`eu-west`/`asia-pacific`. Comparisons go through this table.

/// The router's name for a region. Unknown names pass through lower-cased, so `unknown` (the
/// region of an early failure) stays `unknown` and never matches a planned cell.
pub fn normalize_region(raw: &str) -> String {
    let t = raw.trim();
    match t.to_ascii_lowercase().as_str() {
        "us" | "us-east" => "us-east".into(),
        "eu" | "eu-west" => "eu-west".into(),
        "asia" | "apac" | "asia-pacific" => "asia-pacific".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_region;

    #[test]
    fn aliases_meet() {
        assert_eq!(normalize_region("US"), "us-east");
        assert_eq!(normalize_region("eu-west"), "eu-west");
        assert_eq!(normalize_region("APAC"), normalize_region("ASIA"));
        assert_eq!(normalize_region("unknown"), "unknown");
    }
}
