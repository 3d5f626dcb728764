//! Frames and their encoding: the only place that knows the wire format.
//!
//! A frame is a 4-byte big-endian length followed by that many bytes of a bincode
//! (v2, standard configuration) encoding of a [`Request`](super::protocol::Request) or
//! [`Response`](super::protocol::Response). Frames longer than [`MAX_FRAME`] are refused
//! from their length prefix, before any buffer is allocated. Swapping the encoding
//! means changing this file only.

use serde::{de::DeserializeOwned, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// Largest frame accepted or sent, in bytes.
pub const MAX_FRAME: usize = 4 * 1024 * 1024;

/// Errors of encoding and decoding.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The bytes are not a valid message.
    #[error("malformed message: {0}")]
    Decode(String),
    /// The message could not be encoded.
    #[error("cannot encode message: {0}")]
    Encode(String),
}

/// The most memory decoding one frame may claim, in bytes. bincode counts what a
/// message takes in memory, not on the wire (a list claims its length times the size of
/// its element before reading them), and a page of the target list takes ~4 times its
/// frame; the bound still keeps a forged length from allocating more than this.
const MAX_DECODED: usize = 16 * MAX_FRAME;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_FRAME>()
}

fn decode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_DECODED>()
}

/// Encodes a message into a frame body.
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, CodecError> {
    bincode::serde::encode_to_vec(msg, config()).map_err(|e| CodecError::Encode(e.to_string()))
}

/// Decodes a frame body; trailing bytes are an error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (msg, used) = bincode::serde::decode_from_slice(bytes, decode_config())
        .map_err(|e| CodecError::Decode(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::Decode(format!(
            "{} bytes left over after the message",
            bytes.len() - used
        )));
    }
    Ok(msg)
}

/// Wraps a stream in the frame format (length prefix, size cap).
pub fn framed<S: AsyncRead + AsyncWrite>(stream: S) -> Framed<S, LengthDelimitedCodec> {
    let codec = LengthDelimitedCodec::builder()
        .length_field_length(4)
        .big_endian()
        .max_frame_length(MAX_FRAME)
        .new_codec();
    Framed::new(stream, codec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::protocol::{ErrorKind, Request, Response};

    #[test]
    fn round_trip() {
        for req in [
            Request::Hello {
                protocol_version: 1,
            },
            Request::Status,
            Request::Stop,
        ] {
            assert_eq!(decode::<Request>(&encode(&req).unwrap()).unwrap(), req);
        }
        let resp = Response::Error {
            kind: ErrorKind::NotFound,
            message: "id: 8 does not exist".into(),
        };
        assert_eq!(decode::<Response>(&encode(&resp).unwrap()).unwrap(), resp);
    }

    #[test]
    fn a_list_that_fits_a_frame_decodes_though_it_takes_more_in_memory() {
        use crate::control::protocol::TargetInfo;
        let page: Vec<TargetInfo> = (0..40_000)
            .map(|id| TargetInfo {
                id,
                name: format!("t{id}"),
                ..TargetInfo::default()
            })
            .collect();
        let bytes = encode(&Response::Targets(page)).unwrap();
        assert!(bytes.len() < MAX_FRAME, "{}", bytes.len());
        assert!(40_000 * std::mem::size_of::<TargetInfo>() > MAX_FRAME);
        match decode::<Response>(&bytes).unwrap() {
            Response::Targets(p) => assert_eq!(p.len(), 40_000),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode::<Request>(&[0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
        assert!(decode::<Request>(&[]).is_err());
        let mut extra = encode(&Request::Status).unwrap();
        extra.push(0);
        assert!(decode::<Request>(&extra).is_err());
    }
}
