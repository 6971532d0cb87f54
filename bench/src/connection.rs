//! The closed loops' HTTP client: one keep-alive HTTP/1.1 connection per loop,
//! hyper's own client connection without reqwest's pool, redirect policy and URL
//! parsing.
//!
//! The load generator shares this two-core machine with the server it measures, so
//! whatever a request costs the client is taken from the server. Through reqwest a
//! stay's hold cost the client about 43 µs of CPU, a tenth of the whole machine's
//! work per hold; a loop that owns its connection sends it for about 36 µs (most of
//! the rest is allocation). Setup and probes still use reqwest.

use anyhow::{bail, Context};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;

/// A request a loop sends: method, path (with its query) and body, if any.
pub(crate) struct Call {
    pub method: Method,
    pub path: String,
    /// A JSON body.
    pub body: Option<Bytes>,
}

impl Call {
    pub fn get(path: String) -> Self {
        Self {
            method: Method::GET,
            path,
            body: None,
        }
    }

    /// A POST of `body` as JSON.
    pub fn post_json(path: String, body: &impl Serialize) -> Self {
        Self {
            method: Method::POST,
            path,
            // The bench's own plain types always serialise; an empty body would
            // be refused by the server and counted as a failure anyway.
            body: Some(serde_json::to_vec(body).unwrap_or_default().into()),
        }
    }
}

/// The server the loops drive: where it listens, and the key they show, if any.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    /// `host:port`.
    authority: String,
    authorization: Option<HeaderValue>,
}

impl Server {
    /// The server at `base` (`http://host:port`; these loops speak plain HTTP only),
    /// called with `api_key` as a bearer token if given.
    pub fn new(base: &str, api_key: Option<&str>) -> anyhow::Result<Self> {
        let Some(authority) = base.strip_prefix("http://") else {
            bail!("the bench drives plain HTTP: give the server as http://host:port, not {base}");
        };
        let authorization = api_key
            .map(|key| HeaderValue::from_str(&format!("Bearer {key}")))
            .transpose()
            .context("the API key is not a valid header value")?;
        Ok(Self {
            authority: authority.trim_end_matches('/').to_string(),
            authorization,
        })
    }
}

/// One connection to the server, opened on first use and again after an error.
pub(crate) struct Connection {
    server: Server,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    /// A connection to `server`, not opened yet.
    pub fn new(server: &Server) -> Self {
        Self {
            server: server.clone(),
            sender: None,
        }
    }

    /// Send `call` and read the whole answer: its status and body. An error (of the
    /// connection, not an error status) closes the connection; the next call opens
    /// another.
    pub async fn send(&mut self, call: Call) -> Result<(StatusCode, Bytes), String> {
        let answer = self.try_send(call).await;
        if answer.is_err() {
            self.sender = None;
        }
        answer
    }

    async fn try_send(&mut self, call: Call) -> Result<(StatusCode, Bytes), String> {
        let sender = match &mut self.sender {
            Some(sender) if !sender.is_closed() => sender,
            _ => self.sender.insert(self.open().await?),
        };
        sender.ready().await.map_err(|e| e.to_string())?;
        let mut request = Request::builder()
            .method(call.method)
            .uri(call.path)
            .header(HOST, &self.server.authority);
        if let Some(authorization) = &self.server.authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        if call.body.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(call.body.unwrap_or_default()))
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        // Read to the end whatever the status, so the connection can be used again.
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body))
    }

    async fn open(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let authority = &self.server.authority;
        let stream = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|e| format!("connecting to {authority}: {e}"))?;
        // As reqwest does: a request is one small write, never held back.
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        Ok(sender)
    }
}
