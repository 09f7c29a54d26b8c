//! Handing memory back after a very large answer.
//!
//! mimalloc gives freed pages back to the system only after its purge delay (10 ms by
//! default), and only when the thread that freed them allocates again; a worker that built a
//! 50,000-product answer and then went idle kept its hundred megabytes. Purging at once for
//! every free (`purge_delay` 0) fixed that but made ordinary requests fault pages back in, up
//! to a third of the warm throughput (BENCHMARKS.md, step 11). So the gateway leaves the delay
//! alone and asks for a collection only after an answer this large, which is rare and costs
//! far more than the collection itself.

/// Answers at least this large are followed by a collection.
pub(crate) const LARGE_ANSWER_BYTES: usize = 1024 * 1024;

/// Returns the memory the current thread has freed to the system now (a no-op for memory
/// mimalloc does not manage, as in the test binaries, whose allocator is the system's).
pub(crate) fn release_freed() {
    // SAFETY: `mi_collect` takes no pointers and may be called from any thread at any time.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
}
