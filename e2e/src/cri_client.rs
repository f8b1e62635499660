//! A CRI client (the k8s-cri stubs over tonic) on a unix socket.

use std::path::{Path, PathBuf};

use cricket::api::v1::image_service_client::ImageServiceClient;
use cricket::api::v1::runtime_service_client::RuntimeServiceClient;
use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint, Uri};

#[derive(Clone)]
pub struct CriClient {
    pub runtime: RuntimeServiceClient<Channel>,
    pub image: ImageServiceClient<Channel>,
}

impl CriClient {
    pub async fn connect(socket: &Path) -> Result<CriClient, tonic::transport::Error> {
        let path: PathBuf = socket.into();
        let channel = Endpoint::from_static("http://localhost")
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let path = path.clone();
                async move {
                    Ok::<_, std::io::Error>(TokioIo::new(
                        tokio::net::UnixStream::connect(path).await?,
                    ))
                }
            }))
            .await?;
        // As kubelet: replies of up to 16 MiB.
        const MAX: usize = 16 << 20;
        Ok(CriClient {
            runtime: RuntimeServiceClient::new(channel.clone()).max_decoding_message_size(MAX),
            image: ImageServiceClient::new(channel).max_decoding_message_size(MAX),
        })
    }
}

use cricket::api::v1::{
    AuthConfig, Image, ImageSpec, ImageStatusRequest, ListImagesRequest, PullImageRequest,
    RemoveImageRequest, StatusRequest,
};

fn spec(image: &str) -> Option<ImageSpec> {
    Some(ImageSpec { image: image.to_string(), ..Default::default() })
}

impl CriClient {
    /// PullImage; the image ID.
    pub async fn pull(
        &mut self,
        image: &str,
        auth: Option<AuthConfig>,
    ) -> Result<String, tonic::Status> {
        let req = PullImageRequest { image: spec(image), auth, sandbox_config: None };
        Ok(self.image.pull_image(req).await?.into_inner().image_ref)
    }

    /// ImageStatus; `None` for an absent image.
    pub async fn image_status(&mut self, image: &str) -> Result<Option<Image>, tonic::Status> {
        let req = ImageStatusRequest { image: spec(image), verbose: false };
        Ok(self.image.image_status(req).await?.into_inner().image)
    }

    pub async fn list_images(&mut self) -> Vec<Image> {
        self.image
            .list_images(ListImagesRequest { filter: None })
            .await
            .expect("ListImages")
            .into_inner()
            .images
    }

    pub async fn remove_image(&mut self, image: &str) -> Result<(), tonic::Status> {
        self.image.remove_image(RemoveImageRequest { image: spec(image) }).await.map(|_| ())
    }

    /// Whether Status reports RuntimeReady.
    pub async fn runtime_ready(&mut self) -> bool {
        let Ok(reply) = self.runtime.status(StatusRequest { verbose: false }).await else {
            return false;
        };
        let conditions = reply.into_inner().status.map(|s| s.conditions).unwrap_or_default();
        conditions.iter().any(|c| c.r#type == "RuntimeReady" && c.status)
    }
}
