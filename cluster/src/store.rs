//! Artifacts in object storage (`object_store`: a local folder on one machine, S3, GCS or
//! Azure in a cluster, chosen by URL), and the worker's local cache of content-addressed blobs.
//!
//! Two kinds of keys:
//! * `blobs/sha256/<digest>`: immutable content (compiled models, proving and verifying keys,
//!   SRS files), uploaded once and verified against the digest on every download;
//! * everything else (tasks, proofs, manifests) is written create-only, so the first writer
//!   of a key wins and no job ever has two different results.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::{ClusterError, Result};

/// A content-addressed artifact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blob {
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

impl Blob {
    /// Store key of the blob.
    pub fn key(&self) -> String {
        format!("blobs/sha256/{}", self.sha256)
    }
}

/// Outcome of a create-only write.
#[derive(Debug, PartialEq, Eq)]
pub enum Created {
    /// This call wrote the object.
    New,
    /// The key already held an object (returned): the first write stands.
    Existing(Vec<u8>),
}

/// An object store under a URL prefix.
#[derive(Clone)]
pub struct ArtifactStore {
    inner: Arc<dyn ObjectStore>,
    prefix: StorePath,
    url: String,
}

impl ArtifactStore {
    /// Opens `file:///abs/dir`, `s3://bucket/prefix`, `gs://…`, `az://…` (credentials from the
    /// usual `AWS_*`, `GOOGLE_*`, `AZURE_*` environment variables) or `memory:///`.
    pub fn open(url: &str) -> Result<Self> {
        let bad = |reason: String| ClusterError::StoreUrl { url: url.to_string(), reason };
        let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if parsed.scheme() == "file" {
            let dir = parsed.to_file_path().map_err(|_| bad("not an absolute path".into()))?;
            std::fs::create_dir_all(&dir).map_err(|e| ClusterError::io(&dir, e))?;
        }
        let options = std::env::vars().filter_map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            ["aws_", "google_", "azure_"].iter().any(|p| lower.starts_with(p)).then_some((lower, v))
        });
        let (inner, prefix) =
            object_store::parse_url_opts(&parsed, options).map_err(|e| bad(e.to_string()))?;
        Ok(Self { inner: Arc::from(inner), prefix, url: url.to_string() })
    }

    /// The URL it was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn path(&self, key: &str) -> StorePath {
        key.split('/').filter(|p| !p.is_empty()).fold(self.prefix.clone(), |p, part| p.child(part))
    }

    fn err(key: &str) -> impl Fn(object_store::Error) -> ClusterError + '_ {
        move |source| ClusterError::Store { key: key.to_string(), source }
    }

    /// Reads an object.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>> {
        let r = self.inner.get(&self.path(key)).await.map_err(Self::err(key))?;
        Ok(r.bytes().await.map_err(Self::err(key))?.to_vec())
    }

    /// Reads a JSON object; bytes that do not parse are a corrupted artifact.
    pub async fn get_json<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Result<T> {
        let bytes = self.get(key).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClusterError::Corrupt {
            key: key.to_string(),
            reason: format!("not the expected JSON: {e}"),
        })
    }

    /// Whether a key holds an object.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        match self.inner.head(&self.path(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(Self::err(key)(e)),
        }
    }

    /// Writes `bytes` under `key` unless the key exists already.
    pub async fn put_create(&self, key: &str, bytes: Vec<u8>) -> Result<Created> {
        let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.inner.put_opts(&self.path(key), PutPayload::from(bytes), opts).await {
            Ok(_) => Ok(Created::New),
            Err(object_store::Error::AlreadyExists { .. }) => {
                Ok(Created::Existing(self.get(key).await?))
            }
            Err(e) => Err(Self::err(key)(e)),
        }
    }

    /// Create-only JSON write; returns the value the key holds afterwards (ours, or the one a
    /// concurrent writer put there first).
    pub async fn put_json_create<T>(&self, key: &str, value: &T) -> Result<T>
    where
        T: Serialize + for<'de> Deserialize<'de> + Clone,
    {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| ClusterError::Invalid(format!("{key}: cannot encode: {e}")))?;
        match self.put_create(key, bytes).await? {
            Created::New => Ok(value.clone()),
            Created::Existing(b) => serde_json::from_slice(&b).map_err(|e| ClusterError::Corrupt {
                key: key.to_string(),
                reason: format!("not the expected JSON: {e}"),
            }),
        }
    }

    /// Uploads a local file as a content-addressed blob, streaming (multipart for large files);
    /// a blob already present is not sent again.
    pub async fn put_blob(&self, file: &Path) -> Result<Blob> {
        let blob = digest_file(file)?;
        let key = blob.key();
        if self.exists(&key).await? {
            return Ok(blob);
        }
        let mut src = tokio::fs::File::open(file).await.map_err(|e| ClusterError::io(file, e))?;
        let mut w = object_store::buffered::BufWriter::new(self.inner.clone(), self.path(&key));
        tokio::io::copy(&mut src, &mut w).await.map_err(|e| ClusterError::io(file, e))?;
        w.shutdown().await.map_err(|e| ClusterError::io(file, e))?;
        Ok(blob)
    }

    /// A blob as a local file in `cache`, downloaded at most once: the download is checked
    /// against the digest before it enters the cache, so the cache only holds good bytes.
    pub async fn fetch_blob(&self, blob: &Blob, cache: &Path) -> Result<PathBuf> {
        if blob.sha256.len() != 64 || !blob.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ClusterError::Invalid(format!("not a SHA-256 digest: {:?}", blob.sha256)));
        }
        let dest = cache.join(&blob.sha256);
        if dest.is_file() {
            return Ok(dest);
        }
        std::fs::create_dir_all(cache).map_err(|e| ClusterError::io(cache, e))?;
        let key = blob.key();
        let tmp = cache.join(format!(".{}.{}.part", blob.sha256, std::process::id()));
        let mut out = tokio::fs::File::create(&tmp).await.map_err(|e| ClusterError::io(&tmp, e))?;
        let mut stream =
            self.inner.get(&self.path(&key)).await.map_err(Self::err(&key))?.into_stream();
        let mut hasher = Sha256::new();
        let mut n = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(Self::err(&key))?;
            hasher.update(&chunk);
            n += chunk.len() as u64;
            out.write_all(&chunk).await.map_err(|e| ClusterError::io(&tmp, e))?;
        }
        out.flush().await.map_err(|e| ClusterError::io(&tmp, e))?;
        drop(out);
        let got = hex::encode(hasher.finalize());
        if got != blob.sha256 || n != blob.bytes {
            let _ = std::fs::remove_file(&tmp);
            return Err(ClusterError::Corrupt {
                key,
                reason: format!(
                    "content has SHA-256 {got} ({n} bytes), expected {} ({} bytes)",
                    blob.sha256, blob.bytes
                ),
            });
        }
        std::fs::rename(&tmp, &dest).map_err(|e| ClusterError::io(&dest, e))?;
        Ok(dest)
    }
}

/// SHA-256 and size of a local file.
pub fn digest_file(path: &Path) -> Result<Blob> {
    let mut f = std::fs::File::open(path).map_err(|e| ClusterError::io(path, e))?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut f, &mut hasher).map_err(|e| ClusterError::io(path, e))?;
    Ok(Blob { sha256: hex::encode(hasher.finalize()), bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> ArtifactStore {
        ArtifactStore::open(&format!("file://{}", dir.display())).expect("store")
    }

    #[tokio::test]
    async fn create_only_writes_keep_the_first_result() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path());
        assert_eq!(s.put_create("a/b.json", b"first".to_vec()).await.expect("put"), Created::New);
        assert_eq!(
            s.put_create("a/b.json", b"second".to_vec()).await.expect("put"),
            Created::Existing(b"first".to_vec())
        );
        assert_eq!(s.get("a/b.json").await.expect("get"), b"first");
    }

    #[tokio::test]
    async fn blobs_are_verified_on_download_and_cached() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (s, cache) = (store(&dir.path().join("store")), dir.path().join("cache"));
        let file = dir.path().join("key.pk");
        std::fs::write(&file, vec![7u8; 100_000]).expect("write");
        let blob = s.put_blob(&file).await.expect("upload");
        assert_eq!(blob.bytes, 100_000);
        let local = s.fetch_blob(&blob, &cache).await.expect("fetch");
        assert_eq!(std::fs::read(&local).expect("read"), vec![7u8; 100_000]);

        // Corrupt the stored copy: a fresh cache refuses it, naming the key and digests.
        let stored = dir.path().join("store").join(blob.key());
        std::fs::write(&stored, vec![8u8; 100_000]).expect("corrupt");
        let err = s.fetch_blob(&blob, &dir.path().join("cache2")).await.expect_err("corrupt");
        assert!(matches!(err, ClusterError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains(&blob.sha256), "{err}");
        assert!(!dir.path().join("cache2").join(&blob.sha256).exists());
        // The verified cached copy is still served without a download.
        assert_eq!(s.fetch_blob(&blob, &cache).await.expect("cached"), local);
    }

    #[test]
    fn bad_urls_are_clear_errors() {
        assert!(matches!(ArtifactStore::open("not a url"), Err(ClusterError::StoreUrl { .. })));
        assert!(matches!(ArtifactStore::open("ftp://host/x"), Err(ClusterError::StoreUrl { .. })));
    }
}
