//! A Keystone-shaped identity server, following the OpenStack Identity API reference:
//! - `POST /v2.0/tokens` (v2.0): 200 with `access.token.{id,expires}`, 401 for bad
//!   credentials, 400 for a malformed body;
//! - `POST /v3/auth/tokens` (v3): 201 with the token in `X-Subject-Token` and
//!   `token.expires_at` in the body, 401 / 400 likewise;
//! - `GET /service` stands for an OpenStack service: 200 for a live `X-Auth-Token`, else
//!   401.
//!
//! Tokens can be revoked and their lifetime shortened to test the daemon's cache.
#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub const USER: &str = "demo";
pub const PASSWORD: &str = "s3cr,et=\"pw";
pub const TENANT: &str = "tenant-1";
pub const PROJECT_ID: &str = "proj-1";
pub const PROJECT_NAME: &str = "demo-project";
pub const DOMAIN: &str = "Default";
/// An account whose password Skypunch's `user=..,password=..` string can express.
pub const PLAIN_USER: &str = "freebeer";
pub const PLAIN_PASSWORD: &str = "forall";

struct State {
    tokens: Mutex<HashMap<String, i64>>,
    issued: AtomicUsize,
    lifetime_ms: AtomicI64,
    service_requests: AtomicUsize,
}

pub struct Keystone {
    pub addr: SocketAddr,
    state: Arc<State>,
    _runtime: tokio::runtime::Runtime,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

impl Keystone {
    pub fn start() -> Keystone {
        let state = Arc::new(State {
            tokens: Mutex::new(HashMap::new()),
            issued: AtomicUsize::new(0),
            lifetime_ms: AtomicI64::new(3_600_000),
            service_requests: AtomicUsize::new(0),
        });
        let st = state.clone();
        let (addr, runtime) = super::http::serve(None, || {}, move |req| handle(st.clone(), req));
        Keystone {
            addr,
            state,
            _runtime: runtime,
        }
    }

    pub fn v2_url(&self) -> String {
        format!("http://{}/v2.0", self.addr)
    }
    pub fn v3_url(&self) -> String {
        format!("http://{}/v3", self.addr)
    }
    pub fn service_url(&self) -> String {
        format!("http://{}/service", self.addr)
    }

    /// Tokens handed out so far.
    pub fn issued(&self) -> usize {
        self.state.issued.load(Ordering::SeqCst)
    }

    /// Requests to the protected service so far.
    pub fn service_requests(&self) -> usize {
        self.state.service_requests.load(Ordering::SeqCst)
    }

    /// Every token issued so far stops working.
    pub fn revoke_all(&self) {
        self.state.tokens.lock().unwrap().clear();
    }

    pub fn set_lifetime_ms(&self, ms: i64) {
        self.state.lifetime_ms.store(ms, Ordering::SeqCst);
    }

    /// The ids of the tokens issued (to check they never leak).
    pub fn token_ids(&self) -> Vec<String> {
        self.state.tokens.lock().unwrap().keys().cloned().collect()
    }
}

fn respond(status: u16, body: Value, token: Option<&str>) -> Response<Full<Bytes>> {
    let mut b = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("x-subject-token", t);
    }
    b.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

fn error(status: u16, title: &str, message: &str) -> Response<Full<Bytes>> {
    respond(
        status,
        json!({ "error": { "code": status, "title": title, "message": message } }),
        None,
    )
}

fn issue(st: &State) -> (String, i64) {
    let n = st.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let id = format!("gAAAAAtoken{n:06}");
    let expires = now_ms() + st.lifetime_ms.load(Ordering::SeqCst);
    st.tokens.lock().unwrap().insert(id.clone(), expires);
    (id, expires)
}

async fn handle(
    st: Arc<State>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let auth_token = req
        .headers()
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let unauthorized = || {
        error(
            401,
            "Unauthorized",
            "The request you have made requires authentication.",
        )
    };
    Ok(match (method.as_str(), path.as_str()) {
        ("POST", "/v2.0/tokens") => {
            let Ok(doc) = serde_json::from_slice::<Value>(&body) else {
                return Ok(error(
                    400,
                    "Bad Request",
                    "Expecting to find auth in request body.",
                ));
            };
            let creds = &doc["auth"]["passwordCredentials"];
            let known = (creds["username"] == USER && creds["password"] == PASSWORD)
                || (creds["username"] == PLAIN_USER && creds["password"] == PLAIN_PASSWORD);
            if !known || doc["auth"]["tenantId"] != TENANT {
                unauthorized()
            } else {
                let (id, expires) = issue(&st);
                respond(
                    200,
                    json!({ "access": {
                        "token": { "id": id, "expires": iso(expires), "issued_at": iso(now_ms()),
                                   "tenant": { "id": TENANT, "name": "demo", "enabled": true } },
                        "serviceCatalog": [],
                        "user": { "id": "u1", "name": USER, "roles": [] },
                        "metadata": { "is_admin": 0, "roles": [] }
                    } }),
                    None,
                )
            }
        }
        ("POST", "/v3/auth/tokens") => {
            let Ok(doc) = serde_json::from_slice::<Value>(&body) else {
                return Ok(error(
                    400,
                    "Bad Request",
                    "Expecting to find auth in request body.",
                ));
            };
            let id = &doc["auth"]["identity"];
            let user = &id["password"]["user"];
            let scope = &doc["auth"]["scope"]["project"];
            let scope_ok = scope["id"] == PROJECT_ID
                || (scope["name"] == PROJECT_NAME && scope["domain"]["name"] == DOMAIN);
            if id["methods"][0] != "password"
                || user["name"] != USER
                || user["password"] != PASSWORD
                || !scope_ok
            {
                unauthorized()
            } else {
                let (token, expires) = issue(&st);
                respond(
                    201,
                    json!({ "token": {
                        "methods": ["password"], "expires_at": iso(expires), "issued_at": iso(now_ms()),
                        "user": { "id": "u1", "name": USER, "domain": { "id": "default", "name": DOMAIN } },
                        "project": { "id": PROJECT_ID, "name": PROJECT_NAME, "domain": { "id": "default", "name": DOMAIN } },
                        "catalog": [], "roles": []
                    } }),
                    Some(&token),
                )
            }
        }
        ("GET", "/service") => {
            st.service_requests.fetch_add(1, Ordering::SeqCst);
            let live = auth_token
                .and_then(|t| st.tokens.lock().unwrap().get(&t).copied())
                .is_some_and(|expires| expires > now_ms());
            if live {
                respond(200, json!({ "status": "ok" }), None)
            } else {
                unauthorized()
            }
        }
        _ => error(404, "Not Found", "The resource could not be found."),
    })
}
