//! The SigV4 check: a request must carry a well-formed `AWS4-HMAC-SHA256` Authorization header for the
//! `sagemaker` signing name, as SageMaker rejects unsigned requests before looking at them.

use hyper::header::AUTHORIZATION;
use hyper::{HeaderMap, StatusCode};

use super::wire::{error, Reply};

pub const NAMESPACE: &str = "http://internal.amazon.com/coral/com.amazon.coral.service/";

/// The parsed Authorization header; the credential scope is `AKID/20260101/us-east-1/sagemaker/aws4_request`.
pub struct Scope {
    pub access_key: String,
    pub region: String,
    pub service: String,
    /// Lower-case header names, as listed in `SignedHeaders`.
    pub signed_headers: Vec<String>,
    pub signature: String,
}

pub fn incomplete(message: &str) -> Reply {
    error(StatusCode::FORBIDDEN, "IncompleteSignatureException", NAMESPACE, serde_json::json!({ "message": message }))
}

pub fn check(headers: &HeaderMap) -> Result<Scope, Reply> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(error(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationTokenException",
            NAMESPACE,
            serde_json::json!({ "message": "Missing Authentication Token" }),
        ));
    };
    let value = value.to_str().map_err(|_| incomplete("Authorization header is not ASCII."))?;
    let Some(fields) = value.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return Err(incomplete(&format!("Authorization header requires AWS4-HMAC-SHA256 signing, got '{value}'.")));
    };
    let field = |name: &str| {
        fields
            .split(',')
            .map(str::trim)
            .find_map(|part| part.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
    };
    let credential =
        field("Credential").ok_or_else(|| incomplete("Authorization header requires 'Credential' parameter."))?;
    let signed =
        field("SignedHeaders").ok_or_else(|| incomplete("Authorization header requires 'SignedHeaders' parameter."))?;
    let signature =
        field("Signature").ok_or_else(|| incomplete("Authorization header requires 'Signature' parameter."))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, terminator] = scope.as_slice() else {
        return Err(incomplete(&format!("Credential should be scoped to a valid region, not '{credential}'.")));
    };
    let well_formed = !access_key.is_empty()
        && date.len() == 8
        && date.bytes().all(|b| b.is_ascii_digit())
        && !region.is_empty()
        && *terminator == "aws4_request";
    if !well_formed {
        return Err(incomplete(&format!("Credential should be scoped correctly, not '{credential}'.")));
    }
    if *service != "sagemaker" {
        return Err(incomplete(&format!(
            "Credential should be scoped to correct service: 'sagemaker', not '{service}'."
        )));
    }
    if !signed.split(';').any(|h| h == "host") {
        return Err(incomplete("'Host' must be a signed header."));
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(incomplete("Signature must be 64 hexadecimal characters."));
    }
    if !headers.contains_key("x-amz-date") && !headers.contains_key("date") {
        return Err(incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."));
    }
    Ok(Scope {
        access_key: (*access_key).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        signed_headers: signed.split(';').map(str::to_owned).collect(),
        signature: signature.to_owned(),
    })
}
