//! The simulator's two HTTP servers (runner and router, axum) and what each answers.

use super::answer::{Asked, SimAnswer};
use super::play::{Sim, SimError};
use super::scenario::Scenario;
use super::state::Outage;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Which service a listener plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Runner,
    Router,
}

/// Answers one request of `side` the way the HTTP servers do, with its `Date` header on that
/// side's clock (as Go's server and uvicorn send one).
pub fn answer(sim: &Sim, side: Side, asked: &Asked) -> SimAnswer {
    let mut a = match side {
        Side::Runner => super::answer::runner(sim, asked),
        Side::Router => super::answer::router(sim, asked),
    };
    if let SimAnswer::Reply { headers, .. } = &mut a {
        headers.push(("date", sim.date_header(side == Side::Runner)));
    }
    a
}

fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .and_then(|q| reqwest::Url::parse(&format!("http://q/?{q}")).ok())
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

async fn handle(
    sim: Arc<Sim>,
    side: Side,
    addr: SocketAddr,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let asked = Asked {
        client: addr.ip(),
        path: uri.path(),
        query: query_pairs(&uri),
        bearer: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer ") && v.len() > 7),
    };
    match answer(&sim, side, &asked) {
        SimAnswer::Reply {
            status,
            body,
            headers: hs,
        } => {
            let mut r = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                body,
            )
                .into_response();
            let h = r.headers_mut();
            for (k, v) in hs {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    h.insert(k, v);
                }
            }
            if side == Side::Runner
                && let Ok(v) = HeaderValue::from_str(&sim.request_id())
            {
                h.insert("x-request-id", v);
            }
            r
        }
        SimAnswer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        // The listener is closed while refusing; a request that slipped in meanwhile fails.
        SimAnswer::Refused => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

fn app(sim: Arc<Sim>, side: Side) -> Router {
    Router::new()
        .fallback(
            move |State(sim): State<Arc<Sim>>,
                  ConnectInfo(addr): ConnectInfo<SocketAddr>,
                  uri: Uri,
                  headers: HeaderMap| handle(sim, side, addr, uri, headers),
        )
        .with_state(sim)
}

/// A running simulator: its two addresses. Dropping it does not stop the servers; they run
/// until the runtime ends.
pub struct Running {
    pub runner: SocketAddr,
    pub router: SocketAddr,
    pub sim: Arc<Sim>,
}

async fn bind(addr: &str) -> Result<TcpListener, SimError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind {
            addr: addr.into(),
            source,
        })
}

/// Serves `app` on `listener`; while the world says the port is "refused", the listener is
/// closed (so connections are refused for real) and bound again afterwards.
fn serve_with_outages(
    sim: Arc<Sim>,
    listener: TcpListener,
    app: Router,
    is_runner: bool,
) -> SocketAddr {
    let addr = listener
        .local_addr()
        .expect("bound listener has an address");
    let refused = move |sim: &Sim| {
        let w = sim.world();
        let o = if is_runner {
            &w.runner_outage
        } else {
            &w.router_outage
        };
        *o == Some(Outage::Refused)
    };
    tokio::spawn(async move {
        let mut listener = Some(listener);
        loop {
            let l = match listener.take() {
                Some(l) => l,
                None => match TcpListener::bind(addr).await {
                    Ok(l) => l,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                },
            };
            let s2 = sim.clone();
            let shutdown = async move {
                while !refused(&s2) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            };
            let _ = axum::serve(
                l,
                app.clone()
                    .into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await;
            while refused(&sim) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });
    addr
}

/// Starts both servers on the current tokio runtime.
pub async fn start(
    scenario: Scenario,
    speed: f64,
    rate_limit_rpm: Option<u32>,
    runner_listen: &str,
    router_listen: &str,
) -> Result<Running, SimError> {
    let sim = Sim::new(scenario, speed, rate_limit_rpm);
    let rl = bind(runner_listen).await?;
    let ol = bind(router_listen).await?;
    let runner = serve_with_outages(sim.clone(), rl, app(sim.clone(), Side::Runner), true);
    let router = serve_with_outages(sim.clone(), ol, app(sim.clone(), Side::Router), false);
    Ok(Running {
        runner,
        router,
        sim,
    })
}
