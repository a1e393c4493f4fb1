//! `@monocloud/backend-node-rs`: the core (pure Rust) and its Node binding.

pub mod core;
// The outbound side: tokens this package obtains to call other APIs (pure Rust, like `core`).
pub mod outbound;
// The fleet's shared store (Redis or Valkey): introspection answers, revocations, tokens.
pub mod store;
// The folder says what it is; the module is not named `napi` so that it does not shadow the
// `napi` crate that the attribute macros refer to.
#[path = "napi/mod.rs"]
mod binding;

/// A middleware shares its process with the application: two tokio workers are enough to keep
/// signature checks off the event loop without crowding it. `MONOCLOUD_BACKEND_WORKER_THREADS`
/// overrides the count.
///
/// On Linux the workers run under `SCHED_BATCH`: same share of the CPU, but a worker that wakes
/// does not preempt what is running. When cores are short, the event loop (which every request
/// passes through twice) keeps its core instead of yielding it to a signature check it will then
/// wait on; measured on two cores, DPoP requests (one ES256 verification each, off the loop) went
/// from about 8,900 to 9,500 req/s, with no change where the workers are idle.
#[napi_derive::module_init]
fn init_runtime() {
    let workers = std::env::var("MONOCLOUD_BACKEND_WORKER_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(2)));
    // Should this fail, napi-rs starts its default runtime instead.
    if let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("monocloud-backend")
        .on_thread_start(batch_scheduling)
        .enable_all()
        .build()
    {
        napi::bindgen_prelude::create_custom_tokio_runtime(runtime);
    }
}

/// Puts the calling thread under `SCHED_BATCH` (allowed without privileges). Through pthreads,
/// because musl's `sched_setscheduler` does nothing but fail. Should the kernel refuse, the
/// thread simply keeps the default policy.
#[cfg(target_os = "linux")]
fn batch_scheduling() {
    let parameters = libc::sched_param { sched_priority: 0 };
    // SAFETY: the calling thread's own handle; the parameters outlive the call.
    unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_BATCH, &parameters) };
}

#[cfg(not(target_os = "linux"))]
fn batch_scheduling() {}
