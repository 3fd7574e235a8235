//! Event-stream frames (application/vnd.amazon.eventstream) as SageMaker sends them, and broken ones for tests.

use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::Bytes;

fn frame(headers: Vec<(&'static str, String)>, payload: Bytes) -> Bytes {
    let message = headers.into_iter().fold(Message::new(payload), |message, (name, value)| {
        message.add_header(Header::new(name, HeaderValue::String(value.into())))
    });
    let mut buffer = Vec::new();
    // Encoding into a Vec fails only for headers or payloads over the format's size limits.
    match aws_smithy_eventstream::frame::write_message_to(&message, &mut buffer) {
        Ok(()) => Bytes::from(buffer),
        Err(_) => Bytes::new(),
    }
}

/// `{"PayloadPart": {"Bytes": ...}}`.
pub fn payload_part(bytes: Bytes) -> Bytes {
    event("PayloadPart", bytes)
}

/// An event of any type (an unknown type tests forward compatibility).
pub fn event(event_type: &str, bytes: Bytes) -> Bytes {
    frame(
        vec![
            (":event-type", event_type.to_owned()),
            (":content-type", "application/octet-stream".to_owned()),
            (":message-type", "event".to_owned()),
        ],
        bytes,
    )
}

/// A mid-stream error: ModelStreamError (with ErrorCode) or InternalStreamFailure.
pub fn exception(exception_type: &str, message: &str, error_code: Option<&str>) -> Bytes {
    let mut body = serde_json::json!({ "Message": message });
    if let Some(code) = error_code {
        body["ErrorCode"] = serde_json::Value::String(code.to_owned());
    }
    frame(
        vec![
            (":exception-type", exception_type.to_owned()),
            (":content-type", "application/json".to_owned()),
            (":message-type", "exception".to_owned()),
        ],
        Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
    )
}

/// A PayloadPart whose last byte (inside the message CRC) is flipped: a checksum mismatch.
pub fn corrupt_part(bytes: Bytes) -> Bytes {
    let mut encoded = payload_part(bytes).to_vec();
    let crc_start = encoded.len().saturating_sub(4);
    if let Some(byte) = encoded.get_mut(crc_start) {
        *byte ^= 0xff;
    }
    Bytes::from(encoded)
}
