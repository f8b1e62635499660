//! The CRI ImageService: one file per RPC family; this file only routes.

mod fs_info;
mod pull;
mod record_events;
mod remove;
mod status;
mod sync;
mod top_layer;

use std::sync::Arc;

use crate::api::v1::image_service_server::ImageService as ImageServiceApi;
use crate::api::v1::*;
use tonic::{Request, Response, Status};

pub(crate) use fs_info::spawn_sampler;
pub(crate) use pull::pull_and_record;
pub(crate) use record_events::{record_changed, record_deleted};
pub(crate) use sync::reload;
pub(crate) use top_layer::top_chain_id;

use crate::context::Context;

pub struct ImageService {
    ctx: Arc<Context>,
}

impl ImageService {
    pub fn new(ctx: Arc<Context>) -> Self {
        ImageService { ctx }
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl ImageServiceApi for ImageService {
    async fn list_images(&self, req: Request<ListImagesRequest>) -> Reply<ListImagesResponse> {
        Ok(Response::new(status::list_images(&self.ctx, req.into_inner())))
    }

    async fn image_status(&self, req: Request<ImageStatusRequest>) -> Reply<ImageStatusResponse> {
        status::image_status(&self.ctx, req.into_inner()).map(Response::new).map_err(Into::into)
    }

    async fn pull_image(&self, req: Request<PullImageRequest>) -> Reply<PullImageResponse> {
        pull::pull_image(&self.ctx, req.into_inner()).await.map(Response::new).map_err(Into::into)
    }

    async fn remove_image(&self, req: Request<RemoveImageRequest>) -> Reply<RemoveImageResponse> {
        remove::remove_image(&self.ctx, req.into_inner())
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    type StreamImagesStream = crate::list_pages::PageStream<StreamImagesResponse>;

    async fn stream_images(
        &self,
        req: Request<StreamImagesRequest>,
    ) -> Reply<Self::StreamImagesStream> {
        Ok(Response::new(status::stream_images(&self.ctx, req.into_inner())))
    }

    async fn image_fs_info(&self, _: Request<ImageFsInfoRequest>) -> Reply<ImageFsInfoResponse> {
        fs_info::image_fs_info(&self.ctx).await.map(Response::new).map_err(Into::into)
    }
}
