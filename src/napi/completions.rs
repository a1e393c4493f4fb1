//! Promises for work done on tokio, settled on the JavaScript thread in batches.
//!
//! napi-rs's `spawn_future` creates and closes a thread-safe function for every call and wakes
//! the event loop once per result: under load that was a quarter of the main thread's time. A
//! client instead keeps one thread-safe function. Finished work is queued and one wake-up of the
//! loop settles everything that finished in the meantime.
//!
//! While more work is already queued behind it, a result waits (up to `BATCH` results) for the
//! next one to finish instead of waking the loop itself: on a busy two-core machine each wake-up
//! is a context switch. Queued work always gets a worker, and work that goes off to wait (a
//! fetch) flushes what is waiting, so a result is never held back behind anything slower than
//! the verifications already queued. A timer bounds the wait
//! (`HOLD_AT_MOST`) whatever happens to the queued work.

use std::ffi::c_void;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use napi::bindgen_prelude::ToNapiValue;
use napi::sys;

use super::failure::Answer;
use super::raw::{check, panic_message, plain_error};

/// What a promise settles with.
pub enum Settled {
    /// Resolves with the claims as JSON text, or with a failure (the JavaScript face throws the
    /// matching error).
    Answer(Answer),
    /// Rejects with a plain `Error` (code `GenericFailure`): the work panicked or was dropped.
    Broken(String),
}

/// One client's completion channel. Work in flight holds it too, so the thread-safe function
/// outlives the client object until every promise it handed out is settled.
pub struct Completions {
    state: Arc<Mutex<State>>,
    /// Work spawned and not yet started by a worker.
    queued: AtomicUsize,
}

/// Results held back for one wake-up at most. With the workers under `SCHED_BATCH` (src/lib.rs),
/// 8 answered DPoP requests 3% faster than 32 (`bench/cpu.mjs`, alternating runs): the loop
/// gets work sooner and no longer waits idle for a large batch, while distinct RS256 tokens at
/// 64 in flight went through at the same rate (about 54k/s with either).
const BATCH: usize = 8;
/// The longest a finished result is held back.
const HOLD_AT_MOST: std::time::Duration = std::time::Duration::from_millis(1);

struct State {
    tsfn: sys::napi_threadsafe_function,
    finished: Vec<(Deferred, Settled)>,
    /// A wake-up is queued and has not yet drained `finished`.
    woken: bool,
    /// A timer will flush held-back results: the bound on how long one can wait.
    timer_armed: bool,
    /// Node finalized the thread-safe function (released, or the environment is going away):
    /// it must not be touched again.
    closed: bool,
    /// JavaScript-thread bookkeeping: promises handed out and not yet settled, and whether the
    /// thread-safe function keeps the event loop alive on their behalf.
    pending: usize,
    referenced: bool,
}

/// A promise's resolver. Only ever used on the JavaScript thread; it crosses threads as data.
struct Deferred(sys::napi_deferred);

// SAFETY: the deferred is only dereferenced by Node-API calls on the JavaScript thread (in
// `drain`); worker threads merely carry it. The thread-safe function handle is documented as
// callable from any thread, and every use of it is checked against `closed` under the lock.
unsafe impl Send for Deferred {}
unsafe impl Send for State {}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Completions {
    /// Creates the channel on the JavaScript thread of `env`. It does not keep the event loop
    /// alive while nothing is pending.
    pub fn new(env: sys::napi_env) -> napi::Result<Completions> {
        let state = Arc::new(Mutex::new(State {
            tsfn: ptr::null_mut(),
            finished: Vec::new(),
            woken: false,
            timer_armed: false,
            closed: false,
            pending: 0,
            referenced: false,
        }));
        // SAFETY: JavaScript thread.
        let resource_name = unsafe { <&str>::to_napi_value(env, "monocloud-backend validation") }?;
        let mut tsfn = ptr::null_mut();
        // The finalizer owns one reference, so `drain` and `finalize` always see live state.
        let context = Arc::into_raw(state.clone()) as *mut c_void;
        // SAFETY: JavaScript thread, valid out-pointer; `context` lives until `finalize`.
        let created = unsafe {
            sys::napi_create_threadsafe_function(
                env,
                ptr::null_mut(),
                ptr::null_mut(),
                resource_name,
                0,
                1,
                context,
                Some(finalize),
                context,
                Some(drain),
                &mut tsfn,
            )
        };
        if let Err(error) = check(created, "napi_create_threadsafe_function") {
            // SAFETY: the finalizer's reference; without a function it never runs.
            drop(unsafe { Arc::from_raw(context as *const Mutex<State>) });
            return Err(error);
        }
        lock(&state).tsfn = tsfn;
        // From here on, dropping `completions` releases the function.
        let completions = Completions {
            state,
            queued: AtomicUsize::new(0),
        };
        // SAFETY: JavaScript thread, live handle.
        check(
            unsafe { sys::napi_unref_threadsafe_function(env, tsfn) },
            "napi_unref_threadsafe_function",
        )?;
        Ok(completions)
    }

    /// Runs `work` on tokio and returns a promise that settles with its answer. JavaScript
    /// thread only. A panic in `work`, or work dropped unfinished (runtime shutdown), rejects
    /// the promise instead of leaving it pending.
    pub fn spawn(
        self: &Arc<Self>,
        env: sys::napi_env,
        work: impl Future<Output = Settled> + Send + 'static,
    ) -> napi::Result<sys::napi_value> {
        let mut deferred = ptr::null_mut();
        let mut promise = ptr::null_mut();
        // SAFETY: JavaScript thread, valid out-pointers.
        check(
            unsafe { sys::napi_create_promise(env, &mut deferred, &mut promise) },
            "napi_create_promise",
        )?;
        {
            let mut state = lock(&self.state);
            state.pending += 1;
            if !state.referenced && !state.closed {
                // SAFETY: JavaScript thread; the handle is live (not closed).
                unsafe { sys::napi_ref_threadsafe_function(env, state.tsfn) };
                state.referenced = true;
            }
        }
        self.queued.fetch_add(1, Ordering::AcqRel);
        let task = Task {
            // Boxed once here: the work's state is a few kilobytes, and every move of an
            // unboxed future into the task copies all of it on the JavaScript thread.
            work: Box::pin(work),
            completions: self.clone(),
            deferred: Some(Deferred(deferred)),
            started: false,
        };
        // Should the runtime be unavailable, `spawn` panics and drops the task, whose drop then
        // rejects the promise on the next turn of the loop.
        let _ = catch_unwind(AssertUnwindSafe(|| napi::bindgen_prelude::spawn(task)));
        Ok(promise)
    }

    fn finish(self: &Arc<Self>, deferred: Deferred, settled: Settled) {
        let mut state = lock(&self.state);
        if state.closed {
            // The environment is gone; nobody is waiting for this promise.
            return;
        }
        state.finished.push((deferred, settled));
        let more_queued = self.queued.load(Ordering::Acquire) > 0;
        if !more_queued || state.finished.len() >= BATCH {
            self.wake(&mut state);
            return;
        }
        if state.woken || state.timer_armed {
            return;
        }
        // Held back: make sure it is flushed soon even if the queued work never finishes.
        let timer = tokio::runtime::Handle::try_current().ok();
        match timer {
            Some(runtime) => {
                state.timer_armed = true;
                drop(state);
                let completions = self.clone();
                runtime.spawn(async move {
                    tokio::time::sleep(HOLD_AT_MOST).await;
                    lock(&completions.state).timer_armed = false;
                    completions.flush();
                });
            }
            None => self.wake(&mut state),
        }
    }

    /// Wakes the loop for whatever has finished, unless a wake-up is already on its way.
    fn flush(&self) {
        let mut state = lock(&self.state);
        if !state.closed && !state.finished.is_empty() {
            self.wake(&mut state);
        }
    }

    fn wake(&self, state: &mut State) {
        if !state.woken {
            state.woken = true;
            // SAFETY: not closed (checked by the callers under this lock), and finalization
            // waits for the lock, so the handle is live.
            unsafe {
                sys::napi_call_threadsafe_function(
                    state.tsfn,
                    ptr::null_mut(),
                    sys::ThreadsafeFunctionCallMode::nonblocking,
                )
            };
        }
    }
}

impl Drop for Completions {
    fn drop(&mut self) {
        let state = lock(&self.state);
        if !state.closed {
            // SAFETY: live handle (see `finish`); releasing is allowed from any thread.
            unsafe {
                sys::napi_release_threadsafe_function(
                    state.tsfn,
                    sys::ThreadsafeFunctionReleaseMode::release,
                )
            };
        }
    }
}

/// One piece of work on tokio and the promise it settles, exactly once: with the work's answer,
/// as broken if the work panics, or as cancelled if the task is dropped unfinished.
struct Task<F> {
    work: Pin<Box<F>>,
    completions: Arc<Completions>,
    deferred: Option<Deferred>,
    started: bool,
}

impl<F: Future<Output = Settled>> Future for Task<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if !this.started {
            this.started = true;
            this.completions.queued.fetch_sub(1, Ordering::AcqRel);
        }
        let settled = match catch_unwind(AssertUnwindSafe(|| this.work.as_mut().poll(cx))) {
            Ok(Poll::Ready(settled)) => settled,
            Ok(Poll::Pending) => {
                // This work waits on something else now: nothing may wait on it.
                this.completions.flush();
                return Poll::Pending;
            }
            Err(panic) => Settled::Broken(panic_message(&*panic)),
        };
        if let Some(deferred) = this.deferred.take() {
            this.completions.finish(deferred, settled);
        }
        Poll::Ready(())
    }
}

impl<F> Drop for Task<F> {
    fn drop(&mut self) {
        if !self.started {
            self.completions.queued.fetch_sub(1, Ordering::AcqRel);
        }
        if let Some(deferred) = self.deferred.take() {
            self.completions.finish(
                deferred,
                Settled::Broken("The validation was cancelled".to_owned()),
            );
            self.completions.flush();
        }
    }
}

/// The thread-safe function's callback: settles every finished promise on the JavaScript thread.
unsafe extern "C" fn drain(
    env: sys::napi_env,
    _js_callback: sys::napi_value,
    context: *mut c_void,
    _data: *mut c_void,
) {
    if env.is_null() {
        // Node is tearing the function down; the environment cannot run JavaScript any more.
        return;
    }
    // SAFETY: `context` is the state the finalizer keeps alive until after the last call.
    let state = unsafe { &*(context as *const Mutex<State>) };
    let (batch, unref) = {
        let mut state = lock(state);
        state.woken = false;
        let batch = std::mem::take(&mut state.finished);
        state.pending = state.pending.saturating_sub(batch.len());
        let unref = state.pending == 0 && state.referenced;
        if unref {
            state.referenced = false;
        }
        (batch, unref.then_some(state.tsfn))
    };
    for (deferred, settled) in batch {
        // SAFETY: JavaScript thread, inside the callback scope Node opened for this call.
        unsafe { settle_one(env, deferred.0, settled) };
    }
    if let Some(tsfn) = unref {
        // SAFETY: JavaScript thread; the function is live while it is calling us.
        unsafe { sys::napi_unref_threadsafe_function(env, tsfn) };
    }
}

unsafe fn settle_one(env: sys::napi_env, deferred: sys::napi_deferred, settled: Settled) {
    // SAFETY (whole body): Node-API calls on the JavaScript thread with a live deferred.
    unsafe {
        let (value, reject) = match settled {
            Settled::Answer(answer) => (Answer::to_napi_value(env, answer), false),
            Settled::Broken(message) => (plain_error(env, &message), true),
        };
        let value = value.unwrap_or_else(|_| {
            plain_error(env, "The result could not be converted").unwrap_or(ptr::null_mut())
        });
        if reject {
            sys::napi_reject_deferred(env, deferred, value);
        } else {
            sys::napi_resolve_deferred(env, deferred, value);
        }
    }
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the reference `Completions::new` gave the finalizer; this is its only use.
    let state = unsafe { Arc::from_raw(data as *const Mutex<State>) };
    let mut state = lock(&state);
    state.closed = true;
    // Promises still queued belong to an environment that is going away: leave them.
    state.finished.clear();
}
