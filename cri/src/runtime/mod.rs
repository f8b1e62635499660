//! The CRI RuntimeService: one file per RPC family; this file only routes.

pub(crate) mod runc_features;
mod runtime_config;

pub use runtime_config::load_pod_cidrs;
mod status;
pub mod user_namespaces;
mod version;

use std::sync::Arc;

use crate::sys::blocking::off_workers;

use crate::api::v1::runtime_service_server::RuntimeService as RuntimeServiceApi;
use crate::api::v1::*;
use tonic::{Request, Response, Status};

use crate::context::Context;
use crate::list_pages::PageStream;

pub struct RuntimeService {
    ctx: Arc<Context>,
}

impl RuntimeService {
    pub fn new(ctx: Arc<Context>) -> Self {
        RuntimeService { ctx }
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl RuntimeServiceApi for RuntimeService {
    async fn version(&self, req: Request<VersionRequest>) -> Reply<VersionResponse> {
        Ok(Response::new(version::version(&req.into_inner())))
    }

    async fn status(&self, req: Request<StatusRequest>) -> Reply<StatusResponse> {
        Ok(Response::new(status::status(&self.ctx, req.into_inner().verbose).await))
    }

    async fn runtime_config(
        &self,
        _: Request<RuntimeConfigRequest>,
    ) -> Reply<RuntimeConfigResponse> {
        Ok(Response::new(runtime_config::runtime_config(&self.ctx.config)))
    }

    async fn update_runtime_config(
        &self,
        req: Request<UpdateRuntimeConfigRequest>,
    ) -> Reply<UpdateRuntimeConfigResponse> {
        runtime_config::update_runtime_config(&self.ctx, req.into_inner())
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn run_pod_sandbox(
        &self,
        req: Request<RunPodSandboxRequest>,
    ) -> Reply<RunPodSandboxResponse> {
        let (ctx, req) = (self.ctx.clone(), req.into_inner());
        crate::detached::run(move |gone| async move {
            crate::sandbox::run_pod_sandbox(&ctx, req, gone).await
        })
        .await
        .map(Response::new)
        .map_err(Into::into)
    }

    async fn stop_pod_sandbox(
        &self,
        req: Request<StopPodSandboxRequest>,
    ) -> Reply<StopPodSandboxResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        let (ctx, req) = (self.ctx.clone(), req.into_inner());
        crate::detached::run(
            move |_| async move { crate::sandbox::stop_pod_sandbox(&ctx, req).await },
        )
        .await
        .map(Response::new)
        .map_err(Into::into)
    }

    async fn remove_pod_sandbox(
        &self,
        req: Request<RemovePodSandboxRequest>,
    ) -> Reply<RemovePodSandboxResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        let (ctx, req) = (self.ctx.clone(), req.into_inner());
        crate::detached::run(
            move |_| async move { crate::sandbox::remove_pod_sandbox(&ctx, req).await },
        )
        .await
        .map(Response::new)
        .map_err(Into::into)
    }

    async fn pod_sandbox_status(
        &self,
        req: Request<PodSandboxStatusRequest>,
    ) -> Reply<PodSandboxStatusResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        crate::sandbox::pod_sandbox_status(&self.ctx, req.into_inner())
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn list_pod_sandbox(
        &self,
        req: Request<ListPodSandboxRequest>,
    ) -> Reply<ListPodSandboxResponse> {
        Ok(Response::new(crate::sandbox::list_pod_sandbox(&self.ctx, req.into_inner())))
    }

    async fn create_container(
        &self,
        req: Request<CreateContainerRequest>,
    ) -> Reply<CreateContainerResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        let (ctx, req) = (self.ctx.clone(), req.into_inner());
        crate::detached::run(
            move |_| async move { crate::container::create_container(&ctx, req).await },
        )
        .await
        .map(Response::new)
        .map_err(Into::into)
    }

    async fn start_container(
        &self,
        req: Request<StartContainerRequest>,
    ) -> Reply<StartContainerResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        let (ctx, req) = (self.ctx.clone(), req.into_inner());
        crate::detached::run(
            move |_| async move { crate::container::start_container(&ctx, req).await },
        )
        .await
        .map(Response::new)
        .map_err(Into::into)
    }

    async fn stop_container(
        &self,
        req: Request<StopContainerRequest>,
    ) -> Reply<StopContainerResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        let (ctx, req) = (self.ctx.clone(), req.into_inner());
        crate::detached::run(
            move |_| async move { crate::container::stop_container(&ctx, req).await },
        )
        .await
        .map(Response::new)
        .map_err(Into::into)
    }

    async fn remove_container(
        &self,
        req: Request<RemoveContainerRequest>,
    ) -> Reply<RemoveContainerResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        let (ctx, req) = (self.ctx.clone(), req.into_inner());
        crate::detached::run(
            move |_| async move { crate::container::remove_container(&ctx, req).await },
        )
        .await
        .map(Response::new)
        .map_err(Into::into)
    }

    async fn container_status(
        &self,
        req: Request<ContainerStatusRequest>,
    ) -> Reply<ContainerStatusResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        crate::container::container_status(&self.ctx, req.into_inner())
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn list_containers(
        &self,
        req: Request<ListContainersRequest>,
    ) -> Reply<ListContainersResponse> {
        Ok(Response::new(crate::container::list_containers(&self.ctx, req.into_inner())))
    }

    async fn update_container_resources(
        &self,
        req: Request<UpdateContainerResourcesRequest>,
    ) -> Reply<UpdateContainerResourcesResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        crate::container::update_container_resources(&self.ctx, req.into_inner())
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn exec_sync(&self, req: Request<ExecSyncRequest>) -> Reply<ExecSyncResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        crate::exec::exec_sync(&self.ctx, req.into_inner())
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn exec(&self, req: Request<ExecRequest>) -> Reply<ExecResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        crate::streaming::exec(&self.ctx, req.into_inner()).map(Response::new).map_err(Into::into)
    }

    async fn attach(&self, req: Request<AttachRequest>) -> Reply<AttachResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        crate::streaming::attach(&self.ctx, req.into_inner()).map(Response::new).map_err(Into::into)
    }

    async fn port_forward(&self, req: Request<PortForwardRequest>) -> Reply<PortForwardResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        crate::streaming::port_forward(&self.ctx, req.into_inner())
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn container_stats(
        &self,
        req: Request<ContainerStatsRequest>,
    ) -> Reply<ContainerStatsResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        crate::stats::container_stats(&self.ctx, req.into_inner())
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn list_container_stats(
        &self,
        req: Request<ListContainerStatsRequest>,
    ) -> Reply<ListContainerStatsResponse> {
        let (ctx, req) = (self.ctx.clone(), req.into_inner());
        // Thousands of cgroup and procfs reads on a full node: off the async workers.
        let reply = off_workers(move || crate::stats::list_container_stats(&ctx, req)).await;
        Ok(Response::new(reply))
    }

    async fn pod_sandbox_stats(
        &self,
        req: Request<PodSandboxStatsRequest>,
    ) -> Reply<PodSandboxStatsResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        crate::stats::pod_sandbox_stats(&self.ctx, req.into_inner())
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn list_pod_sandbox_stats(
        &self,
        req: Request<ListPodSandboxStatsRequest>,
    ) -> Reply<ListPodSandboxStatsResponse> {
        let (ctx, req) = (self.ctx.clone(), req.into_inner());
        let reply = off_workers(move || crate::stats::list_pod_sandbox_stats(&ctx, req)).await;
        Ok(Response::new(reply))
    }

    async fn list_metric_descriptors(
        &self,
        _: Request<ListMetricDescriptorsRequest>,
    ) -> Reply<ListMetricDescriptorsResponse> {
        Ok(Response::new(crate::stats::list_metric_descriptors()))
    }

    async fn list_pod_sandbox_metrics(
        &self,
        _: Request<ListPodSandboxMetricsRequest>,
    ) -> Reply<ListPodSandboxMetricsResponse> {
        let ctx = self.ctx.clone();
        let reply = off_workers(move || crate::stats::list_pod_sandbox_metrics(&ctx)).await;
        Ok(Response::new(reply))
    }

    async fn reopen_container_log(
        &self,
        req: Request<ReopenContainerLogRequest>,
    ) -> Reply<ReopenContainerLogResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        crate::container::reopen_container_log(&self.ctx, req.into_inner())
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn update_pod_sandbox_resources(
        &self,
        req: Request<UpdatePodSandboxResourcesRequest>,
    ) -> Reply<UpdatePodSandboxResourcesResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        crate::sandbox::update_pod_sandbox_resources(&self.ctx, req.into_inner())
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn checkpoint_container(
        &self,
        req: Request<CheckpointContainerRequest>,
    ) -> Reply<CheckpointContainerResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        crate::container::checkpoint_container(&self.ctx, req.into_inner())
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn checkpoint_pod(
        &self,
        req: Request<CheckpointPodRequest>,
    ) -> Reply<CheckpointPodResponse> {
        crate::rpc_ids::record(&self.ctx, req.get_ref());
        let (ctx, req) = (self.ctx.clone(), req.into_inner());
        crate::detached::run(
            move |_| async move { crate::sandbox::checkpoint_pod(&ctx, req).await },
        )
        .await
        .map(Response::new)
        .map_err(Into::into)
    }

    async fn restore_pod(&self, req: Request<RestorePodRequest>) -> Reply<RestorePodResponse> {
        let (ctx, req) = (self.ctx.clone(), req.into_inner());
        crate::detached::run(move |gone| async move {
            crate::sandbox::restore_pod(&ctx, req, gone).await
        })
        .await
        .map(Response::new)
        .map_err(Into::into)
    }

    type StreamPodSandboxesStream = PageStream<StreamPodSandboxesResponse>;

    async fn stream_pod_sandboxes(
        &self,
        req: Request<StreamPodSandboxesRequest>,
    ) -> Reply<Self::StreamPodSandboxesStream> {
        Ok(Response::new(crate::sandbox::stream_pod_sandboxes(&self.ctx, req.into_inner())))
    }

    type StreamContainersStream = PageStream<StreamContainersResponse>;

    async fn stream_containers(
        &self,
        req: Request<StreamContainersRequest>,
    ) -> Reply<Self::StreamContainersStream> {
        Ok(Response::new(crate::container::stream_containers(&self.ctx, req.into_inner())))
    }

    type StreamContainerStatsStream = PageStream<StreamContainerStatsResponse>;

    async fn stream_container_stats(
        &self,
        req: Request<StreamContainerStatsRequest>,
    ) -> Reply<Self::StreamContainerStatsStream> {
        Ok(Response::new(crate::stats::stream_container_stats(&self.ctx, req.into_inner())))
    }

    type StreamPodSandboxStatsStream = PageStream<StreamPodSandboxStatsResponse>;

    async fn stream_pod_sandbox_stats(
        &self,
        req: Request<StreamPodSandboxStatsRequest>,
    ) -> Reply<Self::StreamPodSandboxStatsStream> {
        Ok(Response::new(crate::stats::stream_pod_sandbox_stats(&self.ctx, req.into_inner())))
    }

    type StreamPodSandboxMetricsStream = PageStream<StreamPodSandboxMetricsResponse>;

    async fn stream_pod_sandbox_metrics(
        &self,
        _: Request<StreamPodSandboxMetricsRequest>,
    ) -> Reply<Self::StreamPodSandboxMetricsStream> {
        Ok(Response::new(crate::stats::stream_pod_sandbox_metrics(&self.ctx)))
    }

    type GetContainerEventsStream = crate::cri_events::EventStream;

    async fn get_container_events(
        &self,
        _: Request<GetEventsRequest>,
    ) -> Reply<Self::GetContainerEventsStream> {
        // kubelet subscribes when its evented PLEG is on: worth a line in the log.
        tracing::info!("a container events subscriber joined");
        Ok(Response::new(self.ctx.container_events.subscribe()))
    }
}
