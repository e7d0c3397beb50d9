//! Request bodies, read as streams: each body is counted against its limit while it arrives and
//! bounded in time, so that no route buffers more than its limit and no stalled client keeps a
//! connection (and its buffers) forever.
//!
//! A declared `Content-Length` above the limit is refused before a byte is read; a chunked body
//! is refused as soon as it passes the limit. This module must never read a body before its
//! caller has decided the request may send one (uploads: after authentication), and never
//! buffers anything itself beyond what the caller collects.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::{self, Bytes, BytesMut};
use futures_util::Stream;
use futures_util::StreamExt;
use tokio::time::{Instant, Sleep};

/// Why a body was not read to its end.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the request body did not arrive within {secs} s: send it at once, or not at all")]
    TimedOut { secs: u64 },
    #[error("the request body could not be read (malformed or cut short)")]
    Broken,
}

impl BodyError {
    /// 413, 408 or 400.
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::TimedOut { .. } => StatusCode::REQUEST_TIMEOUT,
            BodyError::Broken => StatusCode::BAD_REQUEST,
        }
    }
}

/// How the read time is bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// The whole body must arrive within the timeout (JSON, webhooks).
    Whole,
    /// At most the timeout between two pieces of the body, and the whole body within `whole`
    /// (uploads, which may be large and slow, and only come from signed-in people: a client
    /// trickling bytes cannot hold its connection longer than `whole`).
    BetweenPieces { whole: Duration },
}

/// The limits of one body.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub max_bytes: usize,
    pub timeout: Duration,
    pub pace: Pace,
}

/// Refuses a body whose declared length is over the limit, before reading any of it.
pub fn check_declared(req: &HttpRequest, max_bytes: usize) -> Result<(), BodyError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > max_bytes as u64 => Err(BodyError::TooLarge { limit: max_bytes }),
        _ => Ok(()),
    }
}

/// A request body as a stream of chunks that ends with an error once the limit is passed, the
/// time is up, or the connection fails.
pub struct LimitedBody {
    payload: web::Payload,
    limit: Limit,
    read: usize,
    timer: Pin<Box<Sleep>>,
    /// The end of the whole body's time ([`Pace::BetweenPieces`]).
    deadline: Option<(Pin<Box<Sleep>>, Duration)>,
    done: bool,
}

impl LimitedBody {
    /// Starts the clock; nothing is read until the stream is polled.
    pub fn new(payload: web::Payload, limit: Limit) -> Self {
        let deadline = match limit.pace {
            Pace::Whole => None,
            Pace::BetweenPieces { whole } => Some((Box::pin(tokio::time::sleep(whole)), whole)),
        };
        LimitedBody {
            payload,
            limit,
            read: 0,
            timer: Box::pin(tokio::time::sleep(limit.timeout)),
            deadline,
            done: false,
        }
    }

    fn fail(&mut self, e: BodyError) -> Poll<Option<Result<Bytes, BodyError>>> {
        self.done = true;
        Poll::Ready(Some(Err(e)))
    }

    /// The body as a `Send` stream of `std::io` results, for parsers that want one (the
    /// multipart reader). The request's payload lives on its worker thread, so a local task
    /// forwards the chunks through a channel of two: nothing more is buffered, and the task
    /// stops when the parser stops listening. The first error is kept in the returned slot so
    /// that the caller can tell it from the parser's own complaint.
    pub fn forward(
        self,
    ) -> (impl Stream<Item = std::io::Result<Bytes>> + Send, Arc<OnceLock<BodyError>>) {
        let slot = Arc::new(OnceLock::new());
        let kept = slot.clone();
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(2);
        let mut body = self;
        actix_web::rt::spawn(async move {
            while let Some(item) = body.next().await {
                let item = item.map_err(|e| {
                    let _ = kept.set(e.clone());
                    std::io::Error::other(e)
                });
                if tx.send(item).await.is_err() {
                    break;
                }
            }
        });
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        (stream, slot)
    }
}

impl Stream for LimitedBody {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.payload).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.read = this.read.saturating_add(chunk.len());
                if this.read > this.limit.max_bytes {
                    return this.fail(BodyError::TooLarge { limit: this.limit.max_bytes });
                }
                if let Some((deadline, whole)) = this.deadline.as_mut() {
                    if deadline.as_mut().poll(cx).is_ready() {
                        let secs = whole.as_secs();
                        return this.fail(BodyError::TimedOut { secs });
                    }
                    this.timer.as_mut().reset(Instant::now() + this.limit.timeout);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(_))) => this.fail(BodyError::Broken),
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => {
                if let Some((deadline, whole)) = this.deadline.as_mut()
                    && deadline.as_mut().poll(cx).is_ready()
                {
                    let secs = whole.as_secs();
                    return this.fail(BodyError::TimedOut { secs });
                }
                match this.timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.fail(BodyError::TimedOut { secs: this.limit.timeout.as_secs() })
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

/// Reads a whole body within its limits: the declared length is checked first, then every
/// chunk as it arrives.
pub async fn read_all(
    req: &HttpRequest,
    payload: web::Payload,
    limit: Limit,
) -> Result<Bytes, BodyError> {
    check_declared(req, limit.max_bytes)?;
    let mut body = LimitedBody::new(payload, limit);
    let mut buf = BytesMut::new();
    while let Some(chunk) = body.next().await {
        buf.extend_from_slice(&chunk?);
    }
    Ok(buf.freeze())
}
