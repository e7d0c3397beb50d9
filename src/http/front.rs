//! The first look at a new connection, before actix-http's parser sees it.
//!
//! actix-http refuses a request line longer than the `http` crate accepts (64 KiB) by itself,
//! with an empty `400` and no hook to answer otherwise. A client that sent a 100 KB `GET` would
//! learn nothing. So each connection's first request line is peeked at (never consumed) here:
//! when it runs past [`MAX_REQUEST_LINE`] without ending, the client gets `414` with a body that
//! says what to do, the rest of what it sends is read and discarded for a moment (so that it
//! reads the answer rather than a reset), and the connection is closed. Anything else goes on
//! untouched to actix-http, which times out slow heads itself.
//!
//! This module must never consume a byte of a request it lets through, nor wait longer than
//! the head timeout.

use std::time::Duration;

use actix_http::error::DispatchError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The longest first request line looked at: beyond it actix-http would answer an empty `400`.
/// Lines from [`super::MAX_URI_BYTES`] up to this get their `414` from [`super::observe`].
pub const MAX_REQUEST_LINE: usize = 64 * 1024;

/// Lets `io` through, or answers `414` and closes it (an `Err`: the connection ends here).
pub async fn screen(io: TcpStream, head_timeout: Duration) -> Result<TcpStream, DispatchError> {
    let deadline = Instant::now() + head_timeout;
    // Most first packets hold a whole request line: one small peek decides.
    let mut buf = vec![0u8; 8 * 1024];
    let mut seen = 0;
    loop {
        let n = match tokio::time::timeout_at(deadline, io.peek(&mut buf)).await {
            Ok(Ok(n)) => n,
            // Closed, failed or slow: actix-http deals with it as before.
            Ok(Err(_)) | Err(_) => return Ok(io),
        };
        if n == 0 || buf[..n].contains(&b'\n') {
            return Ok(io);
        }
        if n > MAX_REQUEST_LINE {
            too_long(io).await;
            return Err(DispatchError::Io(std::io::Error::other("request line too long")));
        }
        if n == buf.len() {
            buf.resize((buf.len() * 4).min(MAX_REQUEST_LINE + 2), 0);
        } else if n == seen {
            // Nothing new yet (a peek returns at once while bytes wait): let the client send.
            tokio::time::sleep(Duration::from_millis(10)).await;
            if Instant::now() >= deadline {
                return Ok(io);
            }
        }
        seen = n;
    }
}

async fn too_long(mut io: TcpStream) {
    let rid = uuid::Uuid::new_v4().simple().to_string();
    tracing::warn!(request.id = %rid, http.client_error = "request line too long", http.status = 414u16, "refused a request line over 64 KiB");
    let body = serde_json::json!({ "errors": [{
        "message": format!("the request line is longer than {MAX_REQUEST_LINE} bytes: send the query with POST"),
        "extensions": { "code": "BAD_USER_INPUT", "requestId": rid },
    }] })
    .to_string();
    let head = format!(
        "HTTP/1.1 414 URI Too Long\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nx-request-id: {rid}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    if io.write_all(head.as_bytes()).await.is_err() || io.write_all(body.as_bytes()).await.is_err()
    {
        return;
    }
    let _ = io.shutdown().await;
    // Read and drop what the client still sends, briefly, so it reads the answer.
    let mut sink = [0u8; 16 * 1024];
    let until = Instant::now() + Duration::from_secs(2);
    let mut drained = 0usize;
    while drained < 4 * 1024 * 1024 {
        match tokio::time::timeout_at(until, io.read(&mut sink)).await {
            Ok(Ok(n)) if n > 0 => drained += n,
            _ => break,
        }
    }
}
