//! The access or portability export of a request (`DataSubjectRequest.export`, guarded by the
//! request's `details`) and its short-lived download link. The link is minted by the domain,
//! which asks the policy again (`policy::requests::may_download_export`); the download itself is
//! the plain route `GET /exports/{id}?token=…` (`http::export`).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::context::{loaders, services};
use super::guard::Subject;
use super::loaders::Batch;
use crate::domain::privacy::export;
use crate::entities::data_export;
use crate::error::{AppError, IntoGql};

/// The export of a request, batched for a list of requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestExport(pub Uuid);

impl Loader<RequestExport> for Batch {
    type Value = data_export::Model;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[RequestExport],
    ) -> Result<HashMap<RequestExport, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut found =
            export::of_requests(&self.services, self.tenant_id, &ids).await.map_err(Arc::new)?;
        Ok(keys.iter().filter_map(|k| found.remove(&k.0).map(|v| (*k, v))).collect())
    }
}

/// The export of `request`, if it has one that has not expired (the caller's guard passed).
pub async fn export_of(
    ctx: &Context<'_>,
    request: Uuid,
    subject: &Subject,
) -> async_graphql::Result<Option<DataExportNode>> {
    let lo = loaders(ctx).gql()?;
    Ok(lo
        .load(RequestExport(request))
        .await
        .gql()?
        .map(|model| DataExportNode { model, subject: subject.clone() }))
}

/// A link to download an export, valid for 15 minutes.
#[derive(SimpleObject)]
pub struct DownloadLink {
    /// The path of the download, relative to the API's origin (`/exports/<id>?token=…`); it
    /// works without a bearer token, for 15 minutes, for the person who asked for it.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// An access or portability export: a ZIP of `data.json`, `index.html` and the documents.
pub struct DataExportNode {
    model: data_export::Model,
    subject: Subject,
}

#[Object(name = "DataExport")]
impl DataExportNode {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// After this, the file is deleted.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.model.expires_at
    }
    /// Size of the ZIP, in bytes.
    async fn size_bytes(&self) -> i64 {
        self.model.size_bytes
    }
    /// A fresh link to download it (the subject, their guardian and the privacy officer).
    async fn download_link(&self, ctx: &Context<'_>) -> async_graphql::Result<DownloadLink> {
        let s = services(ctx).gql()?;
        let (actor, relations) = self.subject.viewer(ctx).await.gql()?;
        let link = export::link(s, &actor, relations.as_ref(), &self.model).await.gql()?;
        Ok(DownloadLink { url: link.url, expires_at: link.expires_at })
    }
}
