//! The fault matrix: a multi-step flow run with one dependency (DynamoDB, S3 or Razorpay)
//! failing at each of the flow's calls in turn, in each way a call can fail, and staying down
//! until the test heals it; then the client retries as a client would (the same
//! Idempotency-Key, the same webhook delivery). What must hold:
//! - during the fault the answer is a 503 with `Retry-After` or a 502, as problem+json (or
//!   success, when the failed call was one the flow could do without): never a 500, never a
//!   hang; or the handler was stopped mid-way, as Lambda stops it at its timeout;
//! - the retry completes, exactly once (each flow checks its own effect and the money at the
//!   Razorpay stand-in);
//! - the table keeps every invariant the restore drill checks (ledger = `on_hand` for every
//!   level, held reservations = `reserved`, every order's reservation exists and agrees), and
//!   once every hold's time is up the sweep leaves none: no hold is stranded.

use std::time::Duration;

use http::StatusCode;
use stockroom_tests::faults::{Fault, FaultProxy};
use stockroom_tests::{TestApp, TestResponse};

/// The dependency a matrix fails.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Dep {
    DynamoDb,
    S3,
    Razorpay,
}

impl Dep {
    pub(crate) fn proxy(self, app: &TestApp) -> &FaultProxy {
        let faults = app.faults.as_ref().expect("a faulty app");
        match self {
            Self::DynamoDb => &faults.dynamodb,
            Self::S3 => &faults.s3,
            Self::Razorpay => &faults.razorpay,
        }
    }
}

/// Every way a call fails: refused work (throttled, reset), work done but the answer lost, and
/// the handler stopped after the call.
pub(crate) const EVERY_FAULT: [Fault; 4] =
    [Fault::Throttle, Fault::Reset, Fault::Lost, Fault::Abort];

/// A multi-step flow, as a client drives it.
pub(crate) trait Flow {
    /// What the flow acts on, made before the faults start.
    type Setup;
    async fn setup(&self, app: &TestApp) -> Self::Setup;
    /// One attempt, as the client sends it; a retry sends the same `key`.
    async fn act(&self, app: &TestApp, setup: &Self::Setup, key: &str) -> TestResponse;
    /// The answer of a completed attempt.
    fn done(&self) -> StatusCode;
    /// The flow's effect, there exactly once (checked before the expiry sweep); `unsure` when
    /// an attempt may have done work it could not know about (it was stopped, or an answer
    /// was lost).
    async fn check(&self, app: &TestApp, setup: &Self::Setup, unsure: bool, what: &str);
}

/// The calls one undisturbed attempt of `flow` makes to `dep`.
async fn steps<F: Flow>(flow: &F, dep: Dep) -> Vec<String> {
    let app = TestApp::spawn_faulty().await;
    let setup = flow.setup(&app).await;
    let before = dep.proxy(&app).calls().len();
    let r = flow
        .act(&app, &setup, &uuid::Uuid::new_v4().to_string())
        .await;
    assert_eq!(r.status, flow.done(), "undisturbed: {}", r.text);
    let steps = dep.proxy(&app).calls()[before..].to_vec();
    flow.check(&app, &setup, false, "undisturbed").await;
    steps
}

/// Runs `flow` with `dep` failing at every step, in every one of `faults`.
pub(crate) async fn matrix<F: Flow>(flow: &F, dep: Dep, faults: &[Fault]) {
    let steps = steps(flow, dep).await;
    assert!(!steps.is_empty(), "the flow makes {dep:?} calls");
    for k in 0..steps.len() {
        for fault in faults {
            case(flow, dep, &steps, k, *fault).await;
        }
    }
}

/// Runs `flow` with the first `operation` it sends to `dep` failing with `fault`.
pub(crate) async fn one<F: Flow>(flow: &F, dep: Dep, operation: &str, fault: Fault) {
    let steps = steps(flow, dep).await;
    let k = steps.iter().position(|s| s == operation).unwrap();
    case(flow, dep, &steps, k, fault).await;
}

/// Runs `flow` with `dep` stalled at its first `operation` (answered only after two minutes,
/// far past every client timeout): an answer comes all the same, and the retry completes.
pub(crate) async fn stall<F: Flow>(flow: &F, dep: Dep, operation: &str) {
    one(flow, dep, operation, Fault::Delay(Duration::from_secs(120))).await;
}

/// One case: `flow` with `dep` failing from its `k`th call (of the undisturbed `steps`) on.
async fn case<F: Flow>(flow: &F, dep: Dep, steps: &[String], k: usize, fault: Fault) {
    let what = format!("{dep:?} call {k} ({}) failing with {fault:?}", steps[k]);
    let app = TestApp::spawn_faulty().await;
    let setup = flow.setup(&app).await;
    let key = uuid::Uuid::new_v4().to_string();
    let proxy = dep.proxy(&app);
    let start = proxy.calls().len();
    proxy.fail_from(start + k, fault);
    let answer = tokio::select! {
        r = flow.act(&app, &setup, &key) => Some(r),
        () = proxy.stopped() => None,
    };
    let calls = proxy.calls()[start..].to_vec();
    assert!(
        calls.len() > k && calls[..k] == steps[..k],
        "{what}: the flow did not reach that call the same way: {calls:?}"
    );
    // A call the flow can do without (after its commit, say) may fail unnoticed.
    if let Some(r) = answer.as_ref().filter(|r| r.status != flow.done()) {
        assert_outage_answer(r, &what);
    }
    proxy.heal();
    let what = format!("{what} (calls {:?})", &proxy.calls()[start..]);
    retry(flow, &app, &setup, &key, &what).await;
    // Work done but not known to be done: a stopped attempt, a lost answer, or a stalled call
    // that reaches the service after the caller gave up.
    let unsure = answer.is_none() || matches!(fault, Fault::Lost | Fault::Delay(_));
    flow.check(&app, &setup, unsure, &what).await;
    assert_whole(&app, &what).await;
}

/// During the fault: 503 with `Retry-After`, or 502, as problem+json.
pub(crate) fn assert_outage_answer(r: &TestResponse, what: &str) {
    assert!(
        matches!(r.status.as_u16(), 502 | 503),
        "{what}: answered {} {}",
        r.status,
        r.text
    );
    if r.status == StatusCode::SERVICE_UNAVAILABLE {
        assert!(r.header("retry-after").is_some(), "{what}: no Retry-After");
    }
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{what}"
    );
}

/// The client's retry after the outage, which completes.
async fn retry<F: Flow>(flow: &F, app: &TestApp, setup: &F::Setup, key: &str, what: &str) {
    let mut again = flow.act(app, setup, key).await;
    if again.status == StatusCode::CONFLICT && again.header("retry-after").is_some() {
        // The outage (or the stop) kept the request from releasing its key: the client is
        // told when to come back, and then it goes through.
        let wait: u64 = again.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=30).contains(&wait), "{what}: Retry-After {wait}");
        app.lapse_idempotency_leases().await;
        again = flow.act(app, setup, key).await;
    }
    assert_eq!(
        again.status,
        flow.done(),
        "{what}: the retry: {}",
        again.text
    );
}

/// What must hold in the table once the faults stop and the client has retried.
pub(crate) async fn assert_whole(app: &TestApp, what: &str) {
    let report = shared::store::check_invariants(&app.state.table)
        .await
        .unwrap();
    assert!(report.holds(), "{what}: {report:?}");
    // Once every hold's time is up, the sweep leaves no stock held: nothing is stranded.
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    shared::services::sweep::sweep(&app.state, later)
        .await
        .unwrap();
    let report = shared::store::check_invariants(&app.state.table)
        .await
        .unwrap();
    assert!(report.holds(), "{what}, after the sweep: {report:?}");
    assert_eq!(
        report.held, 0,
        "{what}: a hold outlived its time: {report:?}"
    );
}
