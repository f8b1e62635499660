//! Keeping the daemon small with glibc's allocator: few arenas, and freed memory handed back
//! to the kernel after the rare operations that allocate a lot (image pulls).

/// Limits glibc to two malloc arenas; with one per thread, memory freed by one thread is
/// kept for it and RSS only grows. Call once, before the async runtime starts threads.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Returns free heap memory to the kernel.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
}
