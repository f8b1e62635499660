//! Containers: CreateContainer, StartContainer, StopContainer, RemoveContainer,
//! ContainerStatus, ListContainers, UpdateContainerResources, ReopenContainerLog and
//! CheckpointContainer over the container store, one file each; restore from a checkpoint;
//! exit tracking; recovery after a restart.

mod checkpoint;
mod checkpoint_archive;
#[cfg(test)]
mod checkpoint_tests;
mod create;
pub(crate) mod exits;
mod host_paths;
mod image_volumes;
mod io;
mod joined_namespaces;
#[cfg(test)]
mod lifecycle_tests;
mod log_reopen;
mod oom;
pub mod persist;
mod recover;
mod remove;
mod restore;
mod rootfs;
mod start;
mod status;
mod stop;
pub(crate) mod stop_signal;
mod task_removal;
mod update;

pub(crate) use checkpoint::{checkpoint_container, checkpoint_to, image_of as checkpoint_image_of};
pub(crate) use create::create_container;
pub use image_volumes::ImageVolume;
pub(crate) use log_reopen::reopen_container_log;
pub use recover::recover;
pub(crate) use remove::{remove_container, remove_containers_of};
pub(crate) use start::start_container;
pub(crate) use status::{container_status, cri_status, list_containers, stream_containers};
pub(crate) use stop::{stop_container, stop_containers_of};
pub(crate) use task_removal::remove_task;
pub(crate) use update::update_container_resources;

/// The containerd label that marks a container (not a sandbox).
pub(crate) fn container_filter() -> String {
    format!("labels.\"{}\"=={}", crate::labels::KIND, crate::labels::KIND_CONTAINER)
}
