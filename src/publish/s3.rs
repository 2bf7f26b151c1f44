//! The `s3://BUCKET/PREFIX` store through aws-sdk-s3. Endpoint, region and credentials come from the standard
//! AWS configuration and environment (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, profiles…), so it
//! works against AWS and any S3-compatible server; path-style addressing is used when an endpoint is set or
//! `AWS_S3_FORCE_PATH_STYLE=true`. No AWS type leaves this file.
//!
//! Every PUT carries its SHA-256 (`x-amz-checksum-sha256`) for the server to check. Conditional writes are S3's
//! `If-None-Match: *` and `If-Match: <etag>`; 412 means another writer won, 409 (a concurrent conditional
//! write in progress) is retried. The SDK's standard retry mode handles 5xx, throttling and timeouts.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use super::store::{Condition, Listed, PutOptions, Store, StoreError, check_key};

/// Request attempts (the first try and the retries) for transient failures.
const MAX_ATTEMPTS: u32 = 5;
/// Retries of a 409 ConditionalRequestConflict.
const CONFLICT_RETRIES: u32 = 5;

pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
    runtime: tokio::runtime::Runtime,
}

impl S3Store {
    /// Connects to `s3://BUCKET[/PREFIX]` with the standard AWS configuration (`endpoint` overrides its endpoint).
    pub fn new(url: &str, endpoint: Option<&str>) -> Result<S3Store, StoreError> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| StoreError::UnsupportedUrl { url: url.to_owned() })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(StoreError::UnsupportedUrl { url: url.to_owned() });
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() {
            check_key(prefix)?;
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|source| StoreError::Io { location: url.to_owned(), source })?;
        let http =
            aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk = runtime.block_on(loader.load());
        let path_style = sdk.endpoint_url().is_some()
            || std::env::var("AWS_S3_FORCE_PATH_STYLE").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        let config = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .build();
        Ok(S3Store {
            client: Client::from_conf(config),
            bucket: bucket.to_owned(),
            prefix: if prefix.is_empty() { String::new() } else { format!("{prefix}/") },
            runtime,
        })
    }

    fn full_key(&self, key: &str) -> Result<String, StoreError> {
        check_key(key)?;
        Ok(format!("{}{key}", self.prefix))
    }

    fn where_(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, key)
    }

    fn error<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
        &self,
        key: &str,
        err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    ) -> StoreError {
        let status = err.raw_response().map(|r| r.status().as_u16());
        if status == Some(412) || err.code() == Some("PreconditionFailed") {
            return StoreError::PreconditionFailed { key: key.to_owned() };
        }
        StoreError::Io {
            location: self.where_(key),
            source: std::io::Error::other(format!("{}", DisplayErrorContext(&err))),
        }
    }
}

fn is_conflict<E: ProvideErrorMetadata>(err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> bool {
    err.raw_response().is_some_and(|r| r.status().as_u16() == 409) || err.code() == Some("ConditionalRequestConflict")
}

impl Store for S3Store {
    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix.trim_end_matches('/'))
    }

    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let full = self.full_key(key)?;
        self.runtime.block_on(async {
            match self.client.get_object().bucket(&self.bucket).key(&full).send().await {
                Ok(out) => {
                    let etag = out.e_tag().unwrap_or_default().to_owned();
                    let bytes = out.body.collect().await.map_err(|e| StoreError::Io {
                        location: self.where_(&full),
                        source: std::io::Error::other(e),
                    })?;
                    Ok(Some((bytes.into_bytes().to_vec(), etag)))
                }
                Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
                Err(err) => Err(self.error(&full, err)),
            }
        })
    }

    fn head(&self, key: &str) -> Result<Option<u64>, StoreError> {
        let full = self.full_key(key)?;
        self.runtime.block_on(async {
            match self.client.head_object().bucket(&self.bucket).key(&full).send().await {
                Ok(out) => Ok(Some(out.content_length().unwrap_or(0).max(0) as u64)),
                Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
                Err(err) => Err(self.error(&full, err)),
            }
        })
    }

    fn put(&self, key: &str, data: &[u8], options: &PutOptions) -> Result<String, StoreError> {
        let full = self.full_key(key)?;
        let checksum = aws_smithy_types::base64::encode(crate::manifest::sha256(data));
        self.runtime.block_on(async {
            let mut attempt = 0;
            loop {
                let mut request = self
                    .client
                    .put_object()
                    .bucket(&self.bucket)
                    .key(&full)
                    .body(ByteStream::from(data.to_vec()))
                    .content_type(options.content_type)
                    .cache_control(options.cache_control)
                    .set_content_encoding(options.content_encoding.map(str::to_owned))
                    .checksum_sha256(&checksum);
                request = match &options.condition {
                    Condition::Always => request,
                    Condition::IfAbsent => request.if_none_match("*"),
                    Condition::IfMatch(etag) => request.if_match(etag),
                };
                match request.send().await {
                    Ok(out) => return Ok(out.e_tag().unwrap_or_default().to_owned()),
                    Err(err) if is_conflict(&err) && attempt < CONFLICT_RETRIES => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                    }
                    Err(err) => return Err(self.error(&full, err)),
                }
            }
        })
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let full = self.full_key(key)?;
        self.runtime.block_on(async {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(&full)
                .send()
                .await
                .map_err(|e| self.error(&full, e))?;
            Ok(())
        })
    }

    fn list(&self, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        let full = self.full_key(prefix.trim_end_matches('/'))? + "/";
        self.runtime.block_on(async {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let mut keys = Vec::new();
            let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(&full).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|err| self.error(&full, err))?;
                for object in page.contents() {
                    if let Some(key) = object.key().and_then(|k| k.strip_prefix(&self.prefix)) {
                        let written = object.last_modified().map_or(now, |t| t.secs().max(0) as u64);
                        let age = Duration::from_secs(now.saturating_sub(written));
                        keys.push(Listed { key: key.to_owned(), age });
                    }
                }
            }
            keys.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(keys)
        })
    }
}
