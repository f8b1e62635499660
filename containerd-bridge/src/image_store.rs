use std::collections::HashMap;

use containerd_client::services::v1::{
    CreateImageRequest, DeleteImageRequest, GetImageRequest, Image, ListImagesRequest,
    UpdateImageRequest,
};
use containerd_client::types::Descriptor;
use prost_types::FieldMask;

use crate::connection::Containerd;
use crate::error::{BridgeError, Result};

/// An image record in containerd's image store: a name pointing at a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRecord {
    pub name: String,
    pub target: Descriptor,
    pub labels: HashMap<String, String>,
}

impl Containerd {
    /// The image record called `name`, or `None` when there is none.
    pub async fn get_image(&self, name: &str) -> Result<Option<ImageRecord>> {
        let req = GetImageRequest { name: name.to_string() };
        match self.images(None).get(req).await.map_err(BridgeError::rpc("image get")) {
            Ok(reply) => Ok(reply.into_inner().image.map(|i| ImageRecord {
                name: i.name,
                target: i.target.unwrap_or_default(),
                labels: i.labels,
            })),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every image record in the namespace.
    pub async fn list_images(&self) -> Result<Vec<ImageRecord>> {
        let reply = self
            .images(None)
            .list(ListImagesRequest { filters: vec![] })
            .await
            .map_err(BridgeError::rpc("image list"))?;
        Ok(reply
            .into_inner()
            .images
            .into_iter()
            .map(|i| ImageRecord {
                name: i.name,
                target: i.target.unwrap_or_default(),
                labels: i.labels,
            })
            .collect())
    }

    /// Deletes the record `name` (absent is fine); with `sync`, containerd collects what only it
    /// kept alive before answering.
    pub async fn delete_image(&self, name: &str, sync: bool) -> Result<()> {
        let req = DeleteImageRequest { name: name.to_string(), sync, target: None };
        match self.images(None).delete(req).await.map_err(BridgeError::rpc("image delete")) {
            Err(e) if !e.is_not_found() => Err(e),
            _ => Ok(()),
        }
    }

    /// Creates the record, or points an existing one at the new target with the new labels.
    pub async fn put_image(&self, record: &ImageRecord) -> Result<()> {
        let now = prost_types::Timestamp::from(std::time::SystemTime::now());
        let image = Image {
            name: record.name.clone(),
            labels: record.labels.clone(),
            target: Some(record.target.clone()),
            created_at: Some(now),
            updated_at: Some(now),
        };
        let create = CreateImageRequest { image: Some(image.clone()), source_date_epoch: None };
        match self.images(None).create(create).await.map_err(BridgeError::rpc("image create")) {
            Err(e) if e.is_already_exists() => {
                let mut paths: Vec<String> =
                    record.labels.keys().map(|k| format!("labels.{k}")).collect();
                paths.push("target".into());
                let update = UpdateImageRequest {
                    image: Some(image),
                    update_mask: Some(FieldMask { paths }),
                    source_date_epoch: None,
                };
                self.images(None).update(update).await.map_err(BridgeError::rpc("image update"))?;
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }
}
