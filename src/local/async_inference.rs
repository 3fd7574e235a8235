//! InvokeEndpointAsync on the local server: a folder stands in for S3 (`s3://bucket/key` is `ROOT/bucket/key`).
//! The request is answered 202 at once; the model runs afterwards and writes its output or failure there.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper::StatusCode;

use super::models::{self, Endpoint, Invocation};
use super::wire::{self, Reply};

/// The bucket the local server writes results to.
pub const OUTPUT_BUCKET: &str = "sagemaker-local";

/// `s3://bucket/key` -> `root/bucket/key`; None for anything else, `..` segments included.
pub fn s3_path(root: &Path, uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/')?;
    if bucket.is_empty() || key.is_empty() {
        return None;
    }
    let mut path = root.join(bucket);
    for segment in key.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return None;
        }
        path.push(segment);
    }
    Some(path)
}

fn invalid_input(location: &str) -> Reply {
    wire::error(
        StatusCode::BAD_REQUEST,
        "ValidationError",
        "http://internal.amazon.com/coral/com.amazon.coral.validate/",
        serde_json::json!({
            "message": format!("InputLocation must be an S3 URI such as s3://bucket/key, not '{location}'.")
        }),
    )
}

async fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let partial = path.with_extension("partial");
    tokio::fs::write(&partial, data).await?;
    tokio::fs::rename(&partial, path).await
}

pub async fn invoke(endpoint: Arc<Endpoint>, mut invocation: Invocation, root: Arc<PathBuf>) -> Reply {
    let inference_id =
        invocation.header("x-amzn-sagemaker-inference-id").map(str::to_owned).unwrap_or_else(wire::request_id);
    let input = match invocation.header("x-amzn-sagemaker-inputlocation") {
        Some(location) => match s3_path(&root, location) {
            Some(path) => Some((location.to_owned(), path)),
            None => return invalid_input(location),
        },
        None => None,
    };
    let folder =
        invocation.header("x-amzn-sagemaker-s3outputpathextension").map(|e| format!("{}/", e.trim_matches('/')));
    let folder = folder.unwrap_or_default();
    let filename = invocation.header("x-amzn-sagemaker-filename").map(str::to_owned);
    let output_uri = format!(
        "s3://{OUTPUT_BUCKET}/async-output/{folder}{}",
        filename.unwrap_or_else(|| format!("{inference_id}.out"))
    );
    let failure_uri = format!("s3://{OUTPUT_BUCKET}/async-failures/{folder}{inference_id}-error.out");
    // The model sees the payload's content type as a real-time container would.
    for (from, to) in [("x-amzn-sagemaker-content-type", "content-type"), ("x-amzn-sagemaker-accept", "accept")] {
        if let Some(value) = invocation.header(from).map(str::to_owned) {
            invocation.headers.push((to.to_owned(), value));
        }
    }
    let (output_path, failure_path) = match (s3_path(&root, &output_uri), s3_path(&root, &failure_uri)) {
        (Some(output), Some(failure)) => (output, failure),
        _ => return invalid_input(&output_uri),
    };
    tokio::spawn(async move {
        if let Some((location, path)) = input {
            match tokio::fs::read(&path).await {
                Ok(data) => invocation.body = data.into(),
                Err(error) => {
                    let message = format!("Failed to download input data from {location}: {error}");
                    let _ = write_atomically(&failure_path, message.as_bytes()).await;
                    return;
                }
            }
        }
        let reply = models::invoke(endpoint, invocation).await;
        let target = if reply.status == StatusCode::OK { &output_path } else { &failure_path };
        let _ = write_atomically(target, &reply.body).await;
    });
    Reply::new(
        StatusCode::ACCEPTED,
        serde_json::to_vec(&serde_json::json!({ "InferenceId": inference_id })).unwrap_or_default(),
    )
    .header("content-type", "application/json")
    .header_owned("x-amzn-sagemaker-outputlocation", &output_uri)
    .header_owned("x-amzn-sagemaker-failurelocation", &failure_uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_paths_stay_inside_the_root() {
        let root = Path::new("/root");
        assert_eq!(s3_path(root, "s3://b/k/x.json"), Some(PathBuf::from("/root/b/k/x.json")));
        assert_eq!(s3_path(root, "s3://b/../etc/passwd"), None);
        assert_eq!(s3_path(root, "s3://b/"), None);
        assert_eq!(s3_path(root, "https://b/k"), None);
    }
}
