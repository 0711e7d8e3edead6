//! The hybrid router's `/health` and `/providers` bodies. All its timestamps are float unix
//! seconds; `last_health_check: 0` means no check has completed (see API.md: for a provider
//! called healthy that is health assumed, for one called unhealthy, checks failing).

use super::lenient::{LBool, LFloat, LInt, LStr};
use super::time::float_secs_to_micros;
use serde::{Deserialize, Serialize};

/// `/health`, minus the per-response `timestamp`, which would make every poll look like a
/// change (it is kept with the request, as the router's clock: `health_timestamp`). `regions`
/// is sorted: the router builds it as `list(set(...))`, so its order means nothing and changes
/// on every restart.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RouterHealth {
    pub status: Option<String>,
    pub version: Option<String>,
    pub providers_total: Option<i64>,
    pub providers_healthy: Option<i64>,
    pub regions: Vec<String>,
}

/// One entry of `/providers`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Provider {
    pub name: String,
    pub kind: Option<String>,
    pub region: Option<String>,
    pub healthy: Option<bool>,
    pub cost_per_second: Option<f64>,
    pub avg_latency: Option<f64>,
    pub success_rate: Option<f64>,
    /// Microseconds since the epoch; `None` when the router never checked (`0`).
    pub last_health_check: Option<i64>,
}

pub fn parse_health(body: &[u8]) -> Result<RouterHealth, String> {
    #[derive(Deserialize)]
    struct Raw {
        #[serde(default)]
        status: LStr,
        #[serde(default)]
        version: LStr,
        #[serde(default)]
        providers_total: LInt,
        #[serde(default)]
        providers_healthy: LInt,
        #[serde(default)]
        regions: Option<Vec<LStr>>,
    }
    let r: Raw = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if r.status.0.is_none() && r.providers_total.0.is_none() && r.providers_healthy.0.is_none() {
        return Err("not a router health body (no status or provider counts)".into());
    }
    Ok(RouterHealth {
        status: r.status.0.map(Into::into),
        version: r.version.0.map(Into::into),
        providers_total: r.providers_total.0,
        providers_healthy: r.providers_healthy.0,
        regions: {
            let mut v: Vec<String> = r
                .regions
                .unwrap_or_default()
                .into_iter()
                .filter_map(|s| s.0.map(Into::into))
                .collect();
            v.sort();
            v.dedup();
            v
        },
    })
}

/// The router's own clock in a `/health` body: its `timestamp`, µs since the epoch.
pub fn health_timestamp(body: &[u8]) -> Option<i64> {
    #[derive(Deserialize)]
    struct Raw {
        #[serde(default)]
        timestamp: LFloat,
    }
    serde_json::from_slice::<Raw>(body)
        .ok()?
        .timestamp
        .0
        .and_then(float_secs_to_micros)
}

pub fn parse_providers(body: &[u8]) -> Result<Vec<Provider>, String> {
    #[derive(Deserialize)]
    struct RawP {
        #[serde(default)]
        name: LStr,
        #[serde(default, rename = "type")]
        kind: LStr,
        #[serde(default)]
        region: LStr,
        #[serde(default)]
        healthy: LBool,
        #[serde(default)]
        cost_per_second: LFloat,
        #[serde(default)]
        avg_latency: LFloat,
        #[serde(default)]
        success_rate: LFloat,
        #[serde(default)]
        last_health_check: LFloat,
    }
    #[derive(Deserialize)]
    struct Raw {
        providers: Option<Vec<RawP>>,
    }
    let r: Raw = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    Ok(r.providers
        .unwrap_or_default()
        .into_iter()
        .map(|p| Provider {
            name: p.name.0.map(Into::into).unwrap_or_default(),
            kind: p.kind.0.map(Into::into),
            region: p.region.0.map(Into::into),
            healthy: p.healthy.0,
            cost_per_second: p.cost_per_second.0,
            avg_latency: p.avg_latency.0,
            success_rate: p.success_rate.0,
            last_health_check: p.last_health_check.0.and_then(float_secs_to_micros),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_router_bodies_parse() {
        let h = parse_health(br#"{"status":"healthy","timestamp":1795886663.2662687,"version":"not_provided","providers_total":2,"providers_healthy":0,"regions":[]}"#).unwrap();
        assert_eq!(h.providers_healthy, Some(0));
        let p = parse_providers(br#"{"providers":[{"name":"modal-us-east","type":"modal","region":"us-east","healthy":true,"cost_per_second":5e-05,"avg_latency":0,"success_rate":1.0,"last_health_check":0}]}"#).unwrap();
        assert_eq!(p[0].last_health_check, None);
        assert_eq!(p[0].healthy, Some(true));
        assert!(parse_health(br#"{"detail":"Not Found"}"#).is_err());
        // The order of `regions` is the order of a Python set: it means nothing.
        let a = parse_health(br#"{"status":"healthy","regions":["us-east","eu-west"]}"#).unwrap();
        let b = parse_health(br#"{"status":"healthy","regions":["eu-west","us-east"]}"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            health_timestamp(br#"{"timestamp":1795886663.2662687}"#),
            Some(1_795_886_663_266_269)
        );
    }
}
