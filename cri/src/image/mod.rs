//! The CRI ImageService: one file per RPC family; this file only routes.

use std::sync::Arc;

use k8s_cri::v1::image_service_server::ImageService as ImageServiceApi;
use k8s_cri::v1::*;
use tonic::{Request, Response, Status};

use crate::context::Context;
use crate::errors::unimplemented;

pub struct ImageService {
    #[allow(dead_code)] // used once the image RPCs land
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
    async fn list_images(&self, _: Request<ListImagesRequest>) -> Reply<ListImagesResponse> {
        Err(unimplemented("ListImages"))
    }

    async fn image_status(&self, _: Request<ImageStatusRequest>) -> Reply<ImageStatusResponse> {
        Err(unimplemented("ImageStatus"))
    }

    async fn pull_image(&self, _: Request<PullImageRequest>) -> Reply<PullImageResponse> {
        Err(unimplemented("PullImage"))
    }

    async fn remove_image(&self, _: Request<RemoveImageRequest>) -> Reply<RemoveImageResponse> {
        Err(unimplemented("RemoveImage"))
    }

    async fn image_fs_info(&self, _: Request<ImageFsInfoRequest>) -> Reply<ImageFsInfoResponse> {
        Err(unimplemented("ImageFsInfo"))
    }
}
