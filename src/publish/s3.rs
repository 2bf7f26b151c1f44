//! The `s3://BUCKET/PREFIX` store through aws-sdk-s3. Endpoint, region and credentials come from the standard
//! AWS configuration and environment (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, profiles…), so it
//! works against AWS and any S3-compatible server; path-style addressing is used when an endpoint is set or
//! `AWS_S3_FORCE_PATH_STYLE=true`. No AWS type leaves this file.
//!
//! Every PUT carries its SHA-256 (`x-amz-checksum-sha256`) for the server to check. Conditional writes are S3's
//! `If-None-Match: *` and `If-Match: <etag>`; 412 means another writer won, 409 (a concurrent conditional
//! write in progress) is retried. The SDK's standard retry mode handles 5xx, throttling and timeouts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use super::store::{Condition, Listed, PutOptions, Store, StoreError, check_key};

/// Request attempts (the first try and the retries) for transient failures.
const MAX_ATTEMPTS: u32 = 5;
/// Keys per DeleteObjects request (S3's maximum).
const DELETE_BATCH: usize = 1000;
/// Retries of a 409 ConditionalRequestConflict.
const CONFLICT_RETRIES: u32 = 5;
/// Part size of multipart uploads; files larger than one part go up in parts. S3's minimum part is 5 MiB;
/// `TILEPRESS_S3_PART_BYTES` overrides the default.
const DEFAULT_PART_BYTES: usize = 16 << 20;
const MIN_PART_BYTES: usize = 5 << 20;

pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
    runtime: tokio::runtime::Runtime,
    part_bytes: usize,
    attempts: Arc<AttemptCounter>,
}

/// Counts requests and their attempts, so a run can report how many were retries.
#[derive(Debug, Default)]
struct AttemptCounter {
    executions: AtomicU64,
    attempts: AtomicU64,
    /// 409 conflicts retried by [`S3Store::put`] itself.
    conflicts: AtomicU64,
}

/// The interceptor the SDK calls: a handle on the store's counter.
#[derive(Debug)]
struct SharedAttemptCounter(Arc<AttemptCounter>);

impl aws_sdk_s3::config::Intercept for SharedAttemptCounter {
    fn name(&self) -> &'static str {
        "tilepress-attempt-counter"
    }

    fn read_before_execution(
        &self,
        _context: &aws_sdk_s3::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        self.0.executions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_s3::config::RuntimeComponents,
        _cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        self.0.attempts.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
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
        let attempts = Arc::new(AttemptCounter::default());
        let config = aws_sdk_s3::config::Builder::from(&sdk)
            .interceptor(SharedAttemptCounter(attempts.clone()))
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
            part_bytes: std::env::var("TILEPRESS_S3_PART_BYTES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(DEFAULT_PART_BYTES)
                .max(MIN_PART_BYTES),
            attempts,
        })
    }

    /// Every object whose full key (bucket prefix included) starts with `full`, sorted by key.
    fn list_full(&self, full: String) -> Result<Vec<Listed>, StoreError> {
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
                        keys.push(Listed { key: key.to_owned(), age, size: object.size().unwrap_or(0).max(0) as u64 });
                    }
                }
            }
            keys.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(keys)
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

impl S3Store {
    /// Reads the file part by part (one part in memory at a time), each sent with its SHA-256.
    async fn upload_parts(
        &self,
        full: &str,
        upload_id: &str,
        path: &std::path::Path,
    ) -> Result<Vec<CompletedPart>, StoreError> {
        use std::io::Read;
        let local = |source| StoreError::Io { location: path.display().to_string(), source };
        let mut file = std::fs::File::open(path).map_err(local)?;
        let mut parts = Vec::new();
        let mut buf = vec![0u8; self.part_bytes];
        for number in 1.. {
            let mut filled = 0;
            while filled < buf.len() {
                let n = file.read(&mut buf[filled..]).map_err(local)?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 {
                break;
            }
            let chunk = &buf[..filled];
            let checksum = aws_smithy_types::base64::encode(crate::manifest::sha256(chunk));
            let out = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(full)
                .upload_id(upload_id)
                .part_number(number)
                .checksum_sha256(&checksum)
                .body(ByteStream::from(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| self.error(full, e))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(out.e_tag().map(str::to_owned))
                    .checksum_sha256(checksum)
                    .build(),
            );
            if filled < buf.len() {
                break;
            }
        }
        Ok(parts)
    }
}

fn is_conflict<E: ProvideErrorMetadata>(err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> bool {
    err.raw_response().is_some_and(|r| r.status().as_u16() == 409) || err.code() == Some("ConditionalRequestConflict")
}

impl Store for S3Store {
    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix.trim_end_matches('/'))
    }

    fn retries(&self) -> u64 {
        let attempts = self.attempts.attempts.load(Ordering::Relaxed);
        let executions = self.attempts.executions.load(Ordering::Relaxed);
        attempts.saturating_sub(executions) + self.attempts.conflicts.load(Ordering::Relaxed)
    }

    fn get(&self, key: &str, max_bytes: u64) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let full = self.full_key(key)?;
        self.runtime.block_on(async {
            match self.client.get_object().bucket(&self.bucket).key(&full).send().await {
                Ok(out) => {
                    let etag = out.e_tag().unwrap_or_default().to_owned();
                    // Refused before the body is read; the body is also cut at the limit whatever the header said.
                    let size = out.content_length().unwrap_or(0).max(0) as u64;
                    if size > max_bytes {
                        return Err(StoreError::TooLarge { key: key.to_owned(), size, limit: max_bytes });
                    }
                    let mut body = out.body;
                    let mut data = Vec::with_capacity(size as usize);
                    while let Some(chunk) = body.try_next().await.map_err(|e| StoreError::Io {
                        location: self.where_(&full),
                        source: std::io::Error::other(e),
                    })? {
                        data.extend_from_slice(&chunk);
                        if data.len() as u64 > max_bytes {
                            return Err(StoreError::TooLarge {
                                key: key.to_owned(),
                                size: data.len() as u64,
                                limit: max_bytes,
                            });
                        }
                    }
                    Ok(Some((data, etag)))
                }
                Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
                Err(err) => Err(self.error(&full, err)),
            }
        })
    }

    fn read_into(&self, key: &str, sink: &mut dyn std::io::Write) -> Result<bool, StoreError> {
        let full = self.full_key(key)?;
        self.runtime.block_on(async {
            let mut out = match self.client.get_object().bucket(&self.bucket).key(&full).send().await {
                Ok(out) => out,
                Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(false),
                Err(err) => return Err(self.error(&full, err)),
            };
            let failed = |e: std::io::Error| StoreError::Io { location: self.where_(&full), source: e };
            while let Some(chunk) = out.body.try_next().await.map_err(|e| failed(std::io::Error::other(e)))? {
                sink.write_all(&chunk).map_err(failed)?;
            }
            Ok(true)
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
                        self.attempts.conflicts.fetch_add(1, Ordering::Relaxed);
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

    fn put_file(&self, key: &str, path: &std::path::Path, options: &PutOptions) -> Result<String, StoreError> {
        let local = |source| StoreError::Io { location: path.display().to_string(), source };
        let size = std::fs::metadata(path).map_err(local)?.len();
        if size <= self.part_bytes as u64 {
            let data = std::fs::read(path).map_err(local)?;
            return self.put(key, &data, options);
        }
        let full = self.full_key(key)?;
        self.runtime.block_on(async {
            let created = self
                .client
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(&full)
                .content_type(options.content_type)
                .cache_control(options.cache_control)
                .checksum_algorithm(ChecksumAlgorithm::Sha256)
                .send()
                .await
                .map_err(|e| self.error(&full, e))?;
            let upload_id = created.upload_id().unwrap_or_default().to_owned();
            let result = self.upload_parts(&full, &upload_id, path).await;
            let parts = match result {
                Ok(parts) => parts,
                Err(err) => {
                    let _ = self
                        .client
                        .abort_multipart_upload()
                        .bucket(&self.bucket)
                        .key(&full)
                        .upload_id(&upload_id)
                        .send()
                        .await;
                    return Err(err);
                }
            };
            let done = self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(&full)
                .upload_id(&upload_id)
                .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
                .send()
                .await
                .map_err(|e| self.error(&full, e))?;
            Ok(done.e_tag().unwrap_or_default().to_owned())
        })
    }

    fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        for batch in keys.chunks(DELETE_BATCH) {
            let objects = batch
                .iter()
                .map(|key| {
                    let full = self.full_key(key)?;
                    ObjectIdentifier::builder().key(full).build().map_err(|e| StoreError::Io {
                        location: self.where_(key),
                        source: std::io::Error::other(e.to_string()),
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let delete = Delete::builder().set_objects(Some(objects)).quiet(true).build().map_err(|e| {
                StoreError::Io { location: self.location(), source: std::io::Error::other(e.to_string()) }
            })?;
            let first = self.full_key(&batch[0])?;
            let out = self.runtime.block_on(async {
                self.client
                    .delete_objects()
                    .bucket(&self.bucket)
                    .delete(delete)
                    .send()
                    .await
                    .map_err(|err| self.error(&first, err))
            })?;
            // Quiet mode lists only the keys that failed.
            if let Some(failed) = out.errors().first() {
                return Err(StoreError::Io {
                    location: self.where_(failed.key().unwrap_or_default()),
                    source: std::io::Error::other(format!(
                        "delete failed: {} {} ({} of {} keys in the batch failed)",
                        failed.code().unwrap_or_default(),
                        failed.message().unwrap_or_default(),
                        out.errors().len(),
                        batch.len()
                    )),
                });
            }
        }
        Ok(())
    }

    fn list(&self, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        self.list_full(self.full_key(prefix.trim_end_matches('/'))? + "/")
    }

    fn list_part(&self, folder: &str, start: &str) -> Result<Vec<Listed>, StoreError> {
        if !start.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(StoreError::UnsafeKey { key: format!("{folder}{start}") });
        }
        self.list_full(self.full_key(folder.trim_end_matches('/'))? + "/" + start)
    }
}
