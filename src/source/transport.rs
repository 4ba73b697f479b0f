//! The HTTP client under every remote store (S3, GCS, Azure, HTTP): `object_store`'s builders take it as
//! their [`HttpConnector`], so the rules below hold for every request they make, listings, credential
//! requests and error answers included.
//!
//! Two rules `object_store`'s own reqwest client does not keep:
//! - **Redirects stay on the origin.** reqwest follows a redirect anywhere and drops only the standard
//!   credential headers (`Authorization`, `Cookie`) on the way: S3's `x-amz-security-token`, the other
//!   `x-amz-*` / `x-ms-*` headers and a `Referer` holding the request URL (an Azure SAS signature, a
//!   presigned URL's `X-Amz-Signature`) went to whatever origin the server named. Redirects within the
//!   origin are followed as before; one to another origin is refused with an error naming that origin
//!   (never its query string). Refusing rather than following without credentials: the credentials are
//!   scoped to the origin the user named (a `SigV4` signature binds the host, a SAS the account), so an
//!   unsigned request elsewhere would at best be refused there and at worst read data the user never
//!   pointed at; object stores do not redirect reads of a bucket they serve to another origin. No request
//!   carries a `Referer`.
//! - **Bodies are bounded by what arrives.** Collectors size their buffer from a body's size hint, which
//!   is the announced `Content-Length`: an answer announcing 2^62 bytes aborted the process on the failed
//!   allocation. The size hint handed on is capped at [`RESERVE_STEP`], and a body is cut off with an
//!   error past its announced length or [`super::body::memory_bound`]. A successful GET answer without a
//!   `Content-Length` (chunked transfer encoding), which `object_store` refuses, is given one: a partial
//!   answer (206) the length its `Content-Range` states, any other the length read, up to
//!   [`UNSIZED_BODY_LIMIT`].

use std::collections::VecDeque;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse,
    HttpResponseBody, HttpService,
};
use object_store::{ClientConfigKey, ClientOptions};

/// The most bytes read from a successful GET answer that does not say its length (chunked transfer
/// encoding): the whole body is held before it is handed on, so it needs a bound of its own, and object
/// stores always send a length, so this only meets small dynamic servers and proxies.
pub const UNSIZED_BODY_LIMIT: u64 = 256 << 20;

/// The most a body's size hint may ask a collector to reserve before the bytes have arrived.
const RESERVE_STEP: u64 = 1 << 20;

/// Redirects followed within one origin before giving up (reqwest's default limit).
const MAX_REDIRECTS: usize = 10;

/// Builds the clients of every remote store (see the module documentation).
#[derive(Debug, Default, Clone, Copy)]
pub struct GuardedConnector;

impl HttpConnector for GuardedConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let client = reqwest_client(options).map_err(|e| object_store::Error::Generic {
            store: "HTTP client",
            source: e.into(),
        })?;
        Ok(HttpClient::new(GuardedService {
            inner: HttpClient::new(client),
        }))
    }
}

/// Spreads connections over a host's addresses (`object_store`'s `randomize_addresses`, on by default,
/// whose resolver is private): each lookup starts at the next address of the answer.
struct RotatingResolver;

impl reqwest::dns::Resolve for RotatingResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let mut addresses: Vec<SocketAddr> =
                tokio::task::spawn_blocking(move || (host.as_str(), 0).to_socket_addrs())
                    .await??
                    .collect();
            if !addresses.is_empty() {
                let first = NEXT.fetch_add(1, Ordering::Relaxed) % addresses.len();
                addresses.rotate_left(first);
            }
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

/// `options` as `object_store` applies them to its own reqwest client, plus the redirect and `Referer`
/// rules.
fn reqwest_client(options: &ClientOptions) -> Result<reqwest::Client, String> {
    let value = |key: ClientConfigKey| options.get_config_value(&key);
    let flag = |key: ClientConfigKey| {
        value(key).is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "true" | "1" | "yes" | "on"
            )
        })
    };
    let duration = |key: ClientConfigKey| -> Result<Option<Duration>, String> {
        value(key)
            .map(|v| humantime::parse_duration(&v).map_err(|e| format!("{}: {e}", key.as_ref())))
            .transpose()
    };
    let number = |key: ClientConfigKey| -> Result<Option<u64>, String> {
        value(key)
            .map(|v| u64::from_str(v.trim()).map_err(|e| format!("{}: {e}", key.as_ref())))
            .transpose()
    };
    let user_agent = value(ClientConfigKey::UserAgent)
        .unwrap_or_else(|| concat!("rustytree/", env!("CARGO_PKG_VERSION")).to_owned());
    let mut builder = reqwest::Client::builder()
        .user_agent(user_agent)
        .redirect(reqwest::redirect::Policy::custom(same_origin_only))
        .referer(false)
        // As object_store: a decompressed body would not match its Content-Length.
        .no_gzip()
        .no_brotli()
        .no_zstd()
        .no_deflate()
        .https_only(!flag(ClientConfigKey::AllowHttp))
        .danger_accept_invalid_certs(flag(ClientConfigKey::AllowInvalidCertificates));
    // Headers for every request (an HTTP virtual chunk container's stored ones).
    if let Some(headers) = options.get_default_headers() {
        builder = builder.default_headers(headers.clone());
    }
    let mut certificates = Vec::new();
    if let Some(url) = value(ClientConfigKey::ProxyUrl) {
        let mut proxy = reqwest::Proxy::all(url).map_err(|e| format!("proxy_url: {e}"))?;
        if let Some(excludes) = value(ClientConfigKey::ProxyExcludes) {
            proxy = proxy.no_proxy(reqwest::NoProxy::from_string(&excludes));
        }
        if let Some(pem) = value(ClientConfigKey::ProxyCaCertificate) {
            certificates.push(
                reqwest::Certificate::from_pem(pem.as_bytes())
                    .map_err(|e| format!("proxy_ca_certificate: {e}"))?,
            );
        }
        builder = builder.proxy(proxy);
    }
    builder = if flag(ClientConfigKey::NoSystemCertificates) {
        builder.tls_certs_only(certificates)
    } else {
        builder.tls_certs_merge(certificates)
    };
    if let Some(d) = duration(ClientConfigKey::Timeout)? {
        builder = builder.timeout(d);
    }
    if let Some(d) = duration(ClientConfigKey::ConnectTimeout)? {
        builder = builder.connect_timeout(d);
    }
    if let Some(d) = duration(ClientConfigKey::ReadTimeout)? {
        builder = builder.read_timeout(d);
    }
    if let Some(d) = duration(ClientConfigKey::PoolIdleTimeout)? {
        builder = builder.pool_idle_timeout(d);
    }
    if let Some(n) = number(ClientConfigKey::PoolMaxIdlePerHost)? {
        builder = builder.pool_max_idle_per_host(usize::try_from(n).unwrap_or(usize::MAX));
    }
    if let Some(d) = duration(ClientConfigKey::Http2KeepAliveInterval)? {
        builder = builder.http2_keep_alive_interval(d);
    }
    if let Some(d) = duration(ClientConfigKey::Http2KeepAliveTimeout)? {
        builder = builder.http2_keep_alive_timeout(d);
    }
    if flag(ClientConfigKey::Http2KeepAliveWhileIdle) {
        builder = builder.http2_keep_alive_while_idle(true);
    }
    if let Some(n) = number(ClientConfigKey::Http2MaxFrameSize)? {
        builder = builder.http2_max_frame_size(u32::try_from(n).ok());
    }
    if flag(ClientConfigKey::Http1Only) {
        builder = builder.http1_only();
    }
    if flag(ClientConfigKey::Http2Only) {
        builder = builder.http2_prior_knowledge();
    }
    if flag(ClientConfigKey::RandomizeAddresses) {
        builder = builder.dns_resolver(Arc::new(RotatingResolver));
    }
    builder.build().map_err(|e| e.to_string())
}

/// Follows a redirect within the origin of the request before it; stops at one to another origin, so
/// the redirect answer reaches [`GuardedService`], which refuses it by name.
fn same_origin_only(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    let same = attempt
        .previous()
        .last()
        .is_some_and(|from| from.origin() == attempt.url().origin());
    if !same {
        attempt.stop()
    } else if attempt.previous().len() > MAX_REDIRECTS {
        attempt.error("too many redirects")
    } else {
        attempt.follow()
    }
}

/// A redirect to another origin, refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "redirect to another origin ({origin}) refused: credentials are sent only to the origin the \
     source names"
)]
struct CrossOriginRedirect {
    /// `scheme://host:port` of the target, without path or query (which may hold signatures).
    origin: String,
}

/// A body past its bound.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BodyTooLong(String);

/// The target of a redirect answer when it lies on another origin than `from`.
fn cross_origin_target(from: &url::Url, headers: &http::HeaderMap) -> Option<String> {
    let location = headers.get(http::header::LOCATION)?.to_str().ok()?;
    let target = from.join(location).ok()?;
    (target.origin() != from.origin()).then(|| target.origin().ascii_serialization())
}

/// The reqwest client with the checks of the module documentation around it.
#[derive(Debug)]
struct GuardedService {
    inner: HttpClient,
}

#[async_trait::async_trait]
impl HttpService for GuardedService {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let from = url::Url::parse(&request.uri().to_string()).ok();
        let is_get = request.method() == http::Method::GET;
        let response = self.inner.execute(request).await?;
        if response.status().is_redirection()
            && let Some(origin) = from
                .as_ref()
                .and_then(|from| cross_origin_target(from, response.headers()))
        {
            // Unknown: object_store does not retry it.
            return Err(HttpError::new(
                HttpErrorKind::Unknown,
                CrossOriginRedirect { origin },
            ));
        }
        bound(response, is_get).await
    }
}

fn header_u64(headers: &http::HeaderMap, name: &http::HeaderName) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The length a `Content-Range: bytes a-b/size` header states.
fn content_range_length(headers: &http::HeaderMap) -> Option<u64> {
    let value = headers.get(http::header::CONTENT_RANGE)?.to_str().ok()?;
    let (range, _) = value.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end) = (start.parse::<u64>().ok()?, end.parse::<u64>().ok()?);
    end.checked_sub(start)?.checked_add(1)
}

/// `response` with its body bounded and, for a successful GET answer without one, a `Content-Length`.
async fn bound(response: HttpResponse, is_get: bool) -> Result<HttpResponse, HttpError> {
    let (mut parts, body) = response.into_parts();
    let memory = super::body::memory_bound();
    let declared = header_u64(&parts.headers, &http::header::CONTENT_LENGTH);
    let unsized_success = declared.is_none() && is_get && parts.status.is_success();
    let body = if !unsized_success {
        BoundedBody::wrap(body, declared.unwrap_or(u64::MAX).min(memory))
    } else if let Some(length) = (parts.status == http::StatusCode::PARTIAL_CONTENT)
        .then(|| content_range_length(&parts.headers))
        .flatten()
    {
        parts
            .headers
            .insert(http::header::CONTENT_LENGTH, length.into());
        BoundedBody::wrap(body, length.min(memory))
    } else {
        let chunks = read_unsized(body, UNSIZED_BODY_LIMIT.min(memory)).await?;
        let length: u64 = chunks.iter().map(|c| c.len() as u64).sum();
        parts
            .headers
            .insert(http::header::CONTENT_LENGTH, length.into());
        HttpResponseBody::new(Chunks(chunks))
    };
    Ok(HttpResponse::from_parts(parts, body))
}

/// Every data frame of `body`, at most `limit` bytes in all.
async fn read_unsized(
    mut body: HttpResponseBody,
    limit: u64,
) -> Result<VecDeque<Bytes>, HttpError> {
    let mut chunks = VecDeque::new();
    let mut arrived = 0u64;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        arrived += data.len() as u64;
        if arrived > limit {
            return Err(HttpError::new(
                HttpErrorKind::Decode,
                BodyTooLong(format!(
                    "a response without a Content-Length carried more than {limit} bytes, the \
                     most read from such a response"
                )),
            ));
        }
        chunks.push_back(data);
    }
    Ok(chunks)
}

/// A body that fails once more than `limit` bytes have arrived, and whose size hint asks for at most
/// [`RESERVE_STEP`] bytes up front.
struct BoundedBody {
    inner: HttpResponseBody,
    arrived: u64,
    limit: u64,
}

impl BoundedBody {
    fn wrap(inner: HttpResponseBody, limit: u64) -> HttpResponseBody {
        HttpResponseBody::new(Self {
            inner,
            arrived: 0,
            limit,
        })
    }
}

impl Body for BoundedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if let Some(Ok(f)) = &frame {
            this.arrived += f.data_ref().map_or(0, |d| d.len() as u64);
            if this.arrived > this.limit {
                let limit = this.limit;
                return Poll::Ready(Some(Err(HttpError::new(
                    HttpErrorKind::Decode,
                    BodyTooLong(format!(
                        "the response body is longer than {limit} bytes (its announced length, or \
                         the memory this process may use)"
                    )),
                ))));
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let inner = self.inner.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower().min(RESERVE_STEP));
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper.max(hint.lower()));
        }
        hint
    }
}

/// A body already read, handed on as the pieces it arrived in.
struct Chunks(VecDeque<Bytes>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        Poll::Ready(self.0.pop_front().map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.iter().map(|c| c.len() as u64).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_targets_on_other_origins_are_named_without_path_or_query() {
        let from = url::Url::parse("http://127.0.0.1:9000/b/k?sig=S").unwrap();
        let at = |location: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert(http::header::LOCATION, location.parse().unwrap());
            cross_origin_target(&from, &headers)
        };
        assert_eq!(
            at("http://127.0.0.1:9001/b/k?sig=S").as_deref(),
            Some("http://127.0.0.1:9001")
        );
        assert_eq!(
            at("https://127.0.0.1:9000/b/k").as_deref(),
            Some("https://127.0.0.1:9000")
        );
        assert_eq!(at("/moved/b/k"), None);
        assert_eq!(at("http://127.0.0.1:9000/other"), None);
    }

    #[tokio::test]
    async fn the_resolver_answers_with_the_hosts_addresses() {
        use reqwest::dns::Resolve;
        let name = reqwest::dns::Name::from_str("localhost").unwrap();
        let addresses: Vec<SocketAddr> = RotatingResolver.resolve(name).await.unwrap().collect();
        assert!(!addresses.is_empty());
        assert!(addresses.iter().all(|a| a.ip().is_loopback()));
    }

    #[test]
    fn content_ranges_give_lengths() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_RANGE,
            "bytes 10-19/100".parse().unwrap(),
        );
        assert_eq!(content_range_length(&headers), Some(10));
        headers.insert(
            http::header::CONTENT_RANGE,
            "bytes 9-3/100".parse().unwrap(),
        );
        assert_eq!(content_range_length(&headers), None);
    }
}
