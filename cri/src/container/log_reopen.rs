//! ReopenContainerLog: the container's log relay closes its file and opens it anew at the same
//! path (after kubelet has rotated it), and answers once it has.

use crate::api::v1::{ReopenContainerLogRequest, ReopenContainerLogResponse};

use super::persist;
use crate::context::Context;
use crate::error::Error;
use crate::store::containers::ContainerState;

pub(crate) async fn reopen_container_log(
    ctx: &Context,
    req: ReopenContainerLogRequest,
) -> Result<ReopenContainerLogResponse, Error> {
    let c = ctx
        .containers
        .get(&req.container_id)
        .ok_or_else(|| crate::error::container_not_found(&req.container_id))?;
    if c.status.state != ContainerState::Running {
        return Err(Error::failed_precondition(format!("container {} is not running", c.meta.id)));
    }
    if !c.meta.log_path.is_empty() {
        let within = std::time::Duration::from_secs(5);
        crate::logs::reopen(
            &persist::logger_pidfile(ctx, &c.meta.id),
            std::path::Path::new(&c.meta.log_path),
            within,
        )
        .await
        .map_err(|e| Error::internal(format!("reopen the log of {}", c.meta.id), e))?;
        tracing::info!(log = %c.meta.log_path, "container log reopened");
    }
    Ok(ReopenContainerLogResponse {})
}
