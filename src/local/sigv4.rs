//! Strict mode: full SigV4 verification with the SDK's own signer (`aws-sigv4`). The request is signed again
//! with the configured secret, exactly over what arrived, and the signatures are compared in constant time.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_types::date_time::{DateTime, Format};
use hyper::{HeaderMap, Method, StatusCode, Uri};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::auth::{incomplete, Scope, NAMESPACE};
use super::wire::{error, Reply};

/// Access key id -> secret access key.
pub type KeyMap = HashMap<String, String>;

/// How far `X-Amz-Date` may be from the server's clock, as AWS allows.
const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS \
                        Secret Access Key and signing method. Consult the service documentation for details.";

fn forbidden(code: &str, message: &str) -> Reply {
    error(StatusCode::FORBIDDEN, code, NAMESPACE, serde_json::json!({ "message": message }))
}

fn mismatch() -> Reply {
    forbidden("InvalidSignatureException", MISMATCH)
}

/// `20261123T170000Z` (ISO 8601 basic format, the only one SigV4 uses) -> a time.
pub fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 16
        && bytes[8] == b'T'
        && bytes[15] == b'Z'
        && bytes[..8].iter().chain(&bytes[9..15]).all(u8::is_ascii_digit);
    if !shaped {
        return None;
    }
    let (d, t) = (&text[..8], &text[9..15]);
    let iso = format!("{}-{}-{}T{}:{}:{}Z", &d[..4], &d[4..6], &d[6..], &t[..2], &t[2..4], &t[4..]);
    let parsed = DateTime::from_str(&iso, Format::DateTime).ok()?;
    SystemTime::try_from(parsed).ok()
}

/// A time -> `20261123T170000Z`, whole seconds.
pub fn format_amz_date(time: SystemTime) -> String {
    let secs = match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => after.as_secs() as i64,
        Err(before) => -(before.duration().as_secs() as i64),
    };
    DateTime::from_secs(secs).fmt(Format::DateTime).unwrap_or_default().replace(['-', ':'], "")
}

/// AWS's words for a date outside the allowed skew; None when the date is current.
fn expired(date: SystemTime, now: SystemTime) -> Option<String> {
    let fmt = format_amz_date;
    if let Some(earliest) = now.checked_sub(MAX_SKEW).filter(|earliest| date < *earliest) {
        return Some(format!(
            "Signature expired: {} is now earlier than {} ({} - 5 min.)",
            fmt(date),
            fmt(earliest),
            fmt(now)
        ));
    }
    now.checked_add(MAX_SKEW).filter(|latest| date > *latest).map(|latest| {
        format!("Signature not yet current: {} is still later than {} ({} + 5 min.)", fmt(date), fmt(latest), fmt(now))
    })
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// What arrived, as the verifier needs it.
pub struct Received<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Verifies the signature of a request whose Authorization header `scope` already passed the form check.
pub fn verify(scope: &Scope, keys: &KeyMap, request: &Received<'_>, now: SystemTime) -> Result<(), Reply> {
    let Some(secret) = keys.get(&scope.access_key) else {
        return Err(forbidden("UnrecognizedClientException", "The security token included in the request is invalid."));
    };
    // Signing with a `Date` header instead is legal SigV4, but every AWS SDK sends X-Amz-Date and the signer
    // always signs that header, so strict mode requires it.
    let Some(date_header) = request.headers.get("x-amz-date") else {
        return Err(incomplete("Strict mode requires the 'X-Amz-Date' header."));
    };
    let date_text = date_header.to_str().unwrap_or_default();
    let Some(date) = parse_amz_date(date_text) else {
        return Err(incomplete(&format!(
            "Date must be in ISO-8601 'basic format'. Got '{date_text}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )));
    };
    if let Some(message) = expired(date, now) {
        return Err(forbidden("InvalidSignatureException", &message));
    }

    // Exactly the headers the client signed, with every value received for each.
    let mut signed: Vec<(&str, &str)> = Vec::new();
    for name in &scope.signed_headers {
        if signed.iter().any(|(seen, _)| seen == name) {
            continue;
        }
        let mut values = request.headers.get_all(name.as_str()).iter().peekable();
        if values.peek().is_none() {
            return Err(mismatch()); // a signed header that did not arrive
        }
        for value in values {
            signed.push((name.as_str(), value.to_str().map_err(|_| mismatch())?));
        }
    }
    let body = match request.headers.get("x-amz-content-sha256") {
        Some(declared) => {
            let declared = declared.to_str().map_err(|_| mismatch())?;
            // The signature covers the declared hash; the body must match it, or a changed body would pass.
            if declared != sha256_hex(request.body) {
                return Err(mismatch());
            }
            SignableBody::Precomputed(declared.to_owned())
        }
        None => SignableBody::Bytes(request.body),
    };
    let path_and_query = request.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let signable = SignableRequest::new(request.method.as_str(), path_and_query, signed.into_iter(), body)
        .map_err(|_| mismatch())?;

    let identity = Credentials::new(&scope.access_key, secret, None, None, "sagemaker-runtime-rs-local").into();
    let mut settings = SigningSettings::default();
    settings.excluded_headers = None; // sign what the client signed, user-agent included if it did
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&scope.region)
        .name(&scope.service)
        .time(date)
        .settings(settings)
        .build()
        .map_err(|_| mismatch())?
        .into();
    let output = sign(signable, &params).map_err(|_| mismatch())?;
    if bool::from(output.signature().as_bytes().ct_eq(scope.signature.as_bytes())) {
        Ok(())
    } else {
        Err(mismatch())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sigv4::http_request::SigningInstructions;

    const AKID: &str = "AKIDSTRICTTEST000000";
    const SECRET: &str = "strict-secret";

    fn keys() -> KeyMap {
        KeyMap::from([(AKID.to_owned(), SECRET.to_owned())])
    }

    /// A request signed as the SDK signs it, returned as (method, uri, headers, body).
    fn signed_request(secret: &str, time: SystemTime, body: &'static [u8]) -> hyper::Request<&'static [u8]> {
        let mut request = hyper::Request::post("/endpoints/my%20model/invocations")
            .header("host", "127.0.0.1:8080")
            .header("content-type", "application/json")
            .header("x-amzn-sagemaker-custom-attributes", "a=1")
            .body(body)
            .unwrap_or_default();
        let identity = Credentials::new(AKID, secret, None, None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("sagemaker")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map(Into::into);
        let params = match params {
            Ok(params) => params,
            Err(e) => panic!("signing params: {e}"),
        };
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        let signable = SignableRequest::new(
            "POST",
            request.uri().to_string(),
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        );
        let instructions: SigningInstructions = match signable.and_then(|s| sign(s, &params)) {
            Ok(output) => output.into_parts().0,
            Err(e) => panic!("signing: {e}"),
        };
        instructions.apply_to_request_http1x(&mut request);
        request
    }

    fn check(request: &hyper::Request<&[u8]>, now: SystemTime) -> Result<(), Reply> {
        let scope = super::super::auth::check(request.headers()).map_err(|_| mismatch())?;
        let received =
            Received { method: request.method(), uri: request.uri(), headers: request.headers(), body: request.body() };
        verify(&scope, &keys(), &received, now)
    }

    fn code(result: Result<(), Reply>) -> String {
        match result {
            Ok(()) => "ok".to_owned(),
            Err(reply) => {
                let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap_or_default();
                let code = reply.headers.iter().find(|(n, _)| n.as_str() == "x-amzn-errortype");
                let code = code.and_then(|(_, v)| v.to_str().ok()).unwrap_or_default();
                format!("{} {}", code.split(':').next().unwrap_or_default(), body["message"].as_str().unwrap_or(""))
            }
        }
    }

    #[test]
    fn accepts_a_correct_signature() {
        let now = SystemTime::now();
        assert_eq!(code(check(&signed_request(SECRET, now, b"{\"x\": 1}"), now)), "ok");
    }

    #[test]
    fn refuses_a_wrong_secret_and_a_changed_request() {
        let now = SystemTime::now();
        assert!(code(check(&signed_request("other", now, b"{}"), now)).starts_with("InvalidSignatureException The"));

        let mut changed_body = signed_request(SECRET, now, b"{}");
        *changed_body.body_mut() = b"{ }";
        assert!(code(check(&changed_body, now)).starts_with("InvalidSignatureException The"));

        let mut changed_header = signed_request(SECRET, now, b"{}");
        changed_header
            .headers_mut()
            .insert("x-amzn-sagemaker-custom-attributes", hyper::header::HeaderValue::from_static("a=2"));
        assert!(code(check(&changed_header, now)).starts_with("InvalidSignatureException The"));

        let mut changed_path = signed_request(SECRET, now, b"{}");
        *changed_path.uri_mut() = "/endpoints/other/invocations".parse().unwrap_or_default();
        assert!(code(check(&changed_path, now)).starts_with("InvalidSignatureException The"));
    }

    #[test]
    fn an_unsigned_extra_header_does_not_matter() {
        let now = SystemTime::now();
        let mut request = signed_request(SECRET, now, b"{}");
        request.headers_mut().insert("x-added-by-a-proxy", hyper::header::HeaderValue::from_static("1"));
        assert_eq!(code(check(&request, now)), "ok");
    }

    #[test]
    fn refuses_an_unknown_key() {
        let now = SystemTime::now();
        let request = signed_request(SECRET, now, b"{}");
        let scope = match super::super::auth::check(request.headers()) {
            Ok(scope) => scope,
            Err(_) => panic!("well-formed"),
        };
        let received =
            Received { method: request.method(), uri: request.uri(), headers: request.headers(), body: request.body() };
        let result = verify(&scope, &KeyMap::new(), &received, now);
        assert_eq!(code(result), "UnrecognizedClientException The security token included in the request is invalid.");
    }

    #[test]
    fn refuses_a_stale_or_future_date_with_aws_wording() {
        let signed_at = parse_amz_date("20261123T160000Z").unwrap_or(SystemTime::UNIX_EPOCH);
        let request = signed_request(SECRET, signed_at, b"{}");
        let an_hour_later = signed_at + Duration::from_secs(3600);
        assert_eq!(
            code(check(&request, an_hour_later)),
            "InvalidSignatureException Signature expired: 20261123T160000Z is now earlier than 20261123T165500Z \
             (20261123T170000Z - 5 min.)"
        );
        let an_hour_before = signed_at - Duration::from_secs(3600);
        assert_eq!(
            code(check(&request, an_hour_before)),
            "InvalidSignatureException Signature not yet current: 20261123T160000Z is still later than \
             20261123T150500Z (20261123T150000Z + 5 min.)"
        );
        assert_eq!(code(check(&request, signed_at + Duration::from_secs(299))), "ok");
    }

    #[test]
    fn dates_round_trip() {
        for text in ["20261123T170000Z", "19700101T000000Z", "20240229T235959Z"] {
            let parsed = parse_amz_date(text);
            assert_eq!(parsed.map(format_amz_date).as_deref(), Some(text));
        }
        for bad in ["2026-11-23T17:00:00Z", "20261123T170000", "20261323T170000Z", "2026112ET170000Z", ""] {
            assert!(parse_amz_date(bad).is_none(), "{bad}");
        }
    }
}
