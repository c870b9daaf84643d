//! The fault suite: two app instances (two `AuthKit`s with their own caches, each on its own
//! runtime and loopback port, like two machines) on one session store, signed-in users making
//! requests across both while faults play out. Every scenario asserts what an operator
//! promises users: nobody is signed out, everybody is still signed in on both instances at the
//! end, refreshes back off instead of hammering WorkOS, and no request fails (except the
//! documented fast 503 while the store itself is down).
//!
//! Time moves with the app's and the emulator's clocks: a token's five minutes pass in one
//! call, so each scenario takes a few seconds.
#![cfg(feature = "axum")]

use std::net::SocketAddr;
use std::time::Duration;

use authkit_axum::AuthKit;
use authkit_axum::session::Clock;
use authkit_axum::session::StatsSnapshot;
use authkit_axum::tower_sessions::{MemoryStore, SessionStore};
use authkit_emulator::{Emulator, Fault, SigningKey};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::EmulatorExt as _;
use crate::support::app::{CALLBACK, PASSWORD, emulator_builder, router_with_extra};
use crate::support::flaky::FlakyStore;

/// Signed-in users in each scenario.
const USERS: usize = 20;
/// From one round to the next: past the 5-minute access tokens' expiry, within the grace.
const PAST_EXPIRY: Duration = Duration::from_secs(305);
/// Past the longest refresh back-off.
const PAST_BACKOFF: Duration = Duration::from_secs(61);

/// One app instance: an `AuthKit` served on its own runtime (its tasks die with it).
struct Instance {
    authkit: AuthKit,
    addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Instance {
    async fn start<S>(emulator: &Emulator, clock: &Clock, store: S) -> Instance
    where
        S: SessionStore + Clone,
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let client = emulator
            .client_builder()
            .max_retries(1)
            .max_retry_delay(Duration::from_secs(1))
            .build()
            .unwrap();
        let clock = clock.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        runtime.spawn(async move {
            let authkit = AuthKit::builder(client, CALLBACK)
                .clock(clock)
                .build()
                .unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let app = router_with_extra(&authkit, store, axum::Router::new());
            let _ = tx.send((authkit, addr));
            let _ = axum::serve(listener, app).await;
        });
        let (authkit, addr) = rx.await.unwrap();
        Instance {
            authkit,
            addr,
            runtime: Some(runtime),
        }
    }

    /// Kills the instance: its server, its requests and its background refreshes stop now.
    fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The emulator, the clock, the users' cookies and the two instances of one scenario.
struct Cluster<S> {
    emulator: Emulator,
    clock: Clock,
    store: S,
    instances: Vec<Instance>,
    cookies: Vec<String>,
    http: reqwest::Client,
    /// Sign-outs and refreshes counted by instances that were replaced.
    retired: Vec<StatsSnapshot>,
}

/// What a round of requests saw.
#[derive(Debug, Default)]
struct Round {
    ok: usize,
    signed_out: usize,
    store_503: usize,
    other: Vec<String>,
    /// The users' token expiries as the responses showed them.
    expiries: Vec<i64>,
}

impl<S: SessionStore + Clone> Cluster<S> {
    async fn start(store: S) -> Cluster<S> {
        let emulator = emulator_builder().start().await.unwrap();
        let clock = Clock::adjustable();
        let mut instances = Vec::new();
        for _ in 0..2 {
            instances.push(Instance::start(&emulator, &clock, store.clone()).await);
        }
        let http = crate::support::http_client()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut cluster = Cluster {
            emulator,
            clock,
            store,
            instances,
            cookies: Vec::new(),
            http,
            retired: Vec::new(),
        };
        for i in 0..USERS {
            let cookie = cluster.sign_in(i).await;
            cluster.cookies.push(cookie);
        }
        cluster
    }

    fn advance(&self, by: Duration) {
        self.emulator.advance_clock(by);
        self.clock.advance(by);
    }

    /// Signs user `i` in through instance `i % 2` and returns their session cookie.
    async fn sign_in(&self, i: usize) -> String {
        let email = format!("user{i}@example.com");
        self.emulator
            .client()
            .user_management()
            .create_user(
                authkit_axum::user_management::CreateUser::new(&email)
                    .password(PASSWORD)
                    .email_verified(true),
            )
            .await
            .unwrap();
        let instance = &self.instances[i % 2];
        let login = self
            .http
            .get(instance.url("/auth/login"))
            .send()
            .await
            .unwrap();
        let cookie = session_cookie(&login).unwrap();
        let authorize = login.headers()["location"].to_str().unwrap().to_owned();
        let callback = self.emulator.approve_sign_in(&authorize, &email).unwrap();
        let done = self
            .http
            .get(instance.url(&format!(
                "{}?{}",
                callback.path(),
                callback.query().unwrap()
            )))
            .header("cookie", format!("authkit_session={cookie}"))
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        session_cookie(&done).unwrap()
    }

    /// Every user requests `/account` `times` times, alternating instances, all at once.
    async fn round(&self, times: usize) -> Round {
        let requests = (0..times).flat_map(|t| {
            self.cookies.iter().enumerate().map(move |(i, cookie)| {
                let instance = &self.instances[(i + t) % 2];
                let request = self
                    .http
                    .get(instance.url("/account"))
                    .header("cookie", format!("authkit_session={cookie}"))
                    .header("accept", "application/json")
                    .send();
                async move { (i, request.await) }
            })
        });
        let mut round = Round {
            expiries: vec![0; self.cookies.len()],
            ..Round::default()
        };
        for (i, response) in futures_util::future::join_all(requests).await {
            let response = match response {
                Ok(response) => response,
                Err(err) => {
                    round.other.push(format!("user{i}: {err}"));
                    continue;
                }
            };
            match response.status() {
                StatusCode::OK => {
                    round.ok += 1;
                    let body: Value = response.json().await.unwrap();
                    assert_eq!(body["email"], format!("user{i}@example.com"));
                    let exp = body["expires_at"].as_i64().unwrap();
                    round.expiries[i] = round.expiries[i].max(exp);
                }
                StatusCode::UNAUTHORIZED => round.signed_out += 1,
                StatusCode::SERVICE_UNAVAILABLE => {
                    let body: Value = response.json().await.unwrap();
                    assert_eq!(body["error"], "session_store_unavailable");
                    round.store_503 += 1;
                }
                other => round.other.push(format!("user{i}: {other}")),
            }
        }
        round
    }

    /// Asserts that a round served everybody.
    async fn all_served(&self, times: usize, when: &str) -> Round {
        let round = self.round(times).await;
        assert_eq!(
            (
                round.ok,
                round.signed_out,
                round.store_503,
                round.other.len()
            ),
            (times * self.cookies.len(), 0, 0, 0),
            "{when}: {round:?}"
        );
        round
    }

    /// Waits until every user is served fresh tokens (newer than `than`) on both instances.
    async fn all_refreshed(&self, than: &[i64], when: &str) -> Round {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let round = self.all_served(2, when).await;
            if round.expiries.iter().zip(than).all(|(now, old)| now > old) {
                return round;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{when}: not every session was refreshed: {round:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The counters of every instance, restarted ones included, added up.
    fn total_stats(&self) -> Totals {
        let mut totals = Totals::default();
        for s in self
            .instances
            .iter()
            .map(|i| i.authkit.stats())
            .chain(self.retired.iter().copied())
        {
            totals.stale_serves += s.stale_serves;
            totals.refreshes.transient += s.refreshes.transient;
            totals.unverified_tokens_kept += s.unverified_tokens_kept;
            totals.refreshes.ok += s.refreshes.ok;
        }
        totals
    }

    fn refresh_ops(&self) -> u64 {
        self.instances
            .iter()
            .map(|i| i.authkit.refresh_count())
            .sum()
    }

    /// Replaces instance `n` with a new one (empty caches, no keys yet): a restart.
    async fn restart(&mut self, n: usize) {
        let mut old = std::mem::replace(
            &mut self.instances[n],
            Instance::start(&self.emulator, &self.clock, self.store.clone()).await,
        );
        self.retired.push(old.authkit.stats());
        old.kill();
    }

    /// No forced sign-outs anywhere, and everybody still signed in on both instances.
    async fn nobody_signed_out(&self) {
        let stats: Vec<StatsSnapshot> = self
            .instances
            .iter()
            .map(|i| i.authkit.stats())
            .chain(self.retired.iter().copied())
            .collect();
        for s in &stats {
            assert_eq!(s.sign_outs.refused, 0, "{stats:?}");
            assert_eq!(s.sign_outs.unreadable, 0, "{stats:?}");
        }
        self.all_served(2, "at the end").await;
    }
}

/// Counters added up over instances.
#[derive(Debug, Default)]
struct Totals {
    stale_serves: u64,
    unverified_tokens_kept: u64,
    refreshes: RefreshTotals,
}

#[derive(Debug, Default)]
struct RefreshTotals {
    ok: u64,
    transient: u64,
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("authkit_session="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

/// A WorkOS outage of the refresh grant (`fault`) while every token expires: everybody is
/// served stale, each session's refresh is tried at most once per instance during the window,
/// and everybody is refreshed once WorkOS is back.
pub(crate) async fn workos_outage<S: SessionStore + Clone>(store: S, fault: Fault) {
    let cluster = Cluster::start(store).await;
    let steady = cluster.all_served(1, "steady").await;
    let id = cluster.emulator.inject_fault(fault);
    cluster.advance(PAST_EXPIRY);
    let before = cluster.refresh_ops();
    // During the window: every request is served (stale), none is signed out.
    for _ in 0..3 {
        cluster.all_served(1, "during the outage").await;
    }
    let during = cluster.refresh_ops() - before;
    assert!(
        (USERS as u64..=(USERS * 2) as u64).contains(&during),
        "{during} refreshes for {USERS} sessions on 2 instances in one window"
    );
    // The refreshes run in the background: on a loaded machine some are still finishing.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stats = cluster.total_stats();
        assert!(stats.stale_serves >= (3 * USERS) as u64, "{stats:?}");
        if stats.refreshes.transient >= USERS as u64 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not every session's refresh failed as transient: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster.emulator.remove_fault(id);
    cluster.advance(PAST_BACKOFF);
    cluster
        .all_refreshed(&steady.expiries, "after the outage")
        .await;
    cluster.nobody_signed_out().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workos_answering_503() {
    let fault = Fault::new("/user_management/authenticate")
        .grant_type("refresh_token")
        .status(503);
    workos_outage(MemoryStore::default(), fault).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workos_rate_limiting_with_retry_after() {
    let fault = Fault::new("/user_management/authenticate")
        .grant_type("refresh_token")
        .status(429)
        .retry_after(1);
    workos_outage(MemoryStore::default(), fault).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workos_answering_slowly() {
    // Slower than the requests' wait for a refresh: they are served stale meanwhile, and the
    // slow refreshes still complete and are stored.
    let cluster = Cluster::start(MemoryStore::default()).await;
    let steady = cluster.all_served(1, "steady").await;
    let id = cluster.emulator.inject_fault(
        Fault::new("/user_management/authenticate")
            .grant_type("refresh_token")
            .delay(Duration::from_millis(1500)),
    );
    cluster.advance(PAST_EXPIRY);
    let started = std::time::Instant::now();
    cluster.all_served(1, "while WorkOS is slow").await;
    // Bounded by the 1-s wait (plus the round's own work), not by WorkOS.
    let waited = started.elapsed();
    cluster.emulator.remove_fault(id);
    cluster
        .all_refreshed(&steady.expiries, "after the slow window")
        .await;
    // One refresh per session (the instance that saw it first; the other joined or found it).
    assert!(cluster.refresh_ops() <= (USERS * 2) as u64);
    cluster.nobody_signed_out().await;
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    assert!(cluster.total_stats().stale_serves >= USERS as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_down_with_one_instance_restarted_cold() {
    let mut cluster = Cluster::start(MemoryStore::default()).await;
    let steady = cluster.all_served(1, "steady").await;
    let id = cluster
        .emulator
        .inject_fault(Fault::new("/sso/jwks/*").status(503));
    // Instance 1 restarts during the outage: no keys cached.
    cluster.restart(1).await;
    cluster.advance(PAST_EXPIRY);
    for _ in 0..3 {
        cluster.all_served(1, "during the JWKS outage").await;
    }
    cluster.emulator.remove_fault(id);
    cluster.advance(PAST_BACKOFF);
    cluster
        .all_refreshed(&steady.expiries, "after the JWKS outage")
        .await;
    cluster.nobody_signed_out().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signing_key_rotation() {
    let cluster = Cluster::start(MemoryStore::default()).await;
    let steady = cluster.all_served(1, "steady").await;
    let old = cluster.emulator.signing_kid();
    cluster
        .emulator
        .rotate_signing_key(SigningKey::development_key(2).unwrap())
        .unwrap();
    cluster.advance(PAST_EXPIRY);
    let rotated = cluster
        .all_refreshed(&steady.expiries, "after the rotation")
        .await;
    cluster.emulator.retire_signing_key(&old).unwrap();
    cluster.advance(PAST_EXPIRY);
    cluster
        .all_refreshed(&rotated.expiries, "after the old key was retired")
        .await;
    cluster.nobody_signed_out().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_down_for_a_while_then_back() {
    let store = FlakyStore::default();
    store_down_then_back(
        store.clone(),
        || store.set_down(true),
        || store.set_down(false),
    )
    .await;
}

/// The store goes down (`down`) while every token expires, then comes back (`up`): while it is
/// down every request on a session gets the documented fast 503 and nothing else, and nobody is
/// signed out; once it is back everybody is refreshed. The store suite plays it with a real
/// Redis killed and restarted.
pub(crate) async fn store_down_then_back<S: SessionStore + Clone>(
    store: S,
    down: impl FnOnce(),
    up: impl FnOnce(),
) {
    let cluster = Cluster::start(store).await;
    let steady = cluster.all_served(1, "steady").await;
    down();
    cluster.advance(PAST_EXPIRY);
    let down = cluster.round(2).await;
    assert_eq!(
        (down.store_503, down.ok, down.signed_out, down.other.len()),
        (2 * USERS, 0, 0, 0),
        "{down:?}"
    );
    up();
    // A real store takes a moment to be reconnected: until then, still only the fast 503.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let round = cluster.round(1).await;
        assert_eq!(
            (round.signed_out, round.other.len()),
            (0, 0),
            "while the store comes back: {round:?}"
        );
        if round.store_503 == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the store was not used again within 5 s of its return: {round:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster
        .all_refreshed(&steady.expiries, "after the store came back")
        .await;
    cluster.nobody_signed_out().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_losing_a_write_during_refreshes() {
    // The store goes down between WorkOS answering a refresh and the tokens being saved: the
    // instance that refreshed keeps the result for its late requests, and the sessions recover.
    let store = FlakyStore::default();
    let cluster = Cluster::start(store.clone()).await;
    let steady = cluster.all_served(1, "steady").await;
    cluster.advance(PAST_EXPIRY);
    let id = cluster.emulator.inject_fault(
        Fault::new("/user_management/authenticate")
            .grant_type("refresh_token")
            .delay(Duration::from_millis(300)),
    );
    let round = cluster.round(1);
    let outage = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        store.set_down(true);
        tokio::time::sleep(Duration::from_millis(600)).await;
        store.set_down(false);
    };
    let (round, ()) = tokio::join!(round, outage);
    assert!(round.other.is_empty() && round.signed_out == 0, "{round:?}");
    cluster.emulator.remove_fault(id);
    cluster
        .all_refreshed(&steady.expiries, "after the store came back")
        .await;
    assert!(
        cluster.store.failures() > 0,
        "the store was never down during the round"
    );
    cluster.nobody_signed_out().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_while_its_refreshes_wait_on_workos_and_restarted() {
    let mut cluster = Cluster::start(MemoryStore::default()).await;
    let steady = cluster.all_served(1, "steady").await;
    // WorkOS holds refreshes up before processing them; instance 0 is killed meanwhile (its
    // requests and refresh tasks die with it) and restarted.
    let id = cluster.emulator.inject_fault(
        Fault::new("/user_management/authenticate")
            .grant_type("refresh_token")
            .delay(Duration::from_millis(800)),
    );
    cluster.advance(PAST_EXPIRY);
    let requests: Vec<_> = cluster
        .cookies
        .iter()
        .map(|cookie| {
            cluster
                .http
                .get(cluster.instances[0].url("/account"))
                .header("cookie", format!("authkit_session={cookie}"))
                .send()
        })
        .collect();
    let killing = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let in_flight = tokio::spawn(futures_util::future::join_all(requests));
    killing.await;
    cluster.restart(0).await;
    let _ = in_flight.await;
    assert!(
        cluster.retired[0].refreshes.ok == 0,
        "the killed instance's refreshes were still waiting on WorkOS"
    );
    cluster.emulator.remove_fault(id);
    cluster
        .all_refreshed(&steady.expiries, "after the restart")
        .await;
    cluster.nobody_signed_out().await;
}
