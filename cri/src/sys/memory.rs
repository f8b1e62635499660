//! Keeping the daemon small with glibc's allocator: few arenas, and freed memory handed back
//! to the kernel after the rare operations that allocate a lot (image pulls).

/// Limits glibc to two malloc arenas; with one per thread, memory freed by one thread is
/// kept for it and RSS only grows. Call once, before the async runtime starts threads.
pub fn limit_arenas() {
    // SAFETY: mallopt only sets an allocator parameter; it is called before other threads exist.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Returns free heap memory to the kernel.
pub fn release_free_memory() {
    // SAFETY: malloc_trim only releases free heap pages; glibc locks its arenas itself.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
}
