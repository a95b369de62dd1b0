//! Request ids: a random prefix drawn once per process and a counter. Unique across restarts
//! (the prefix) and within one (the counter), and no entropy is drawn per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::{HeaderValue, Request};
use rand::RngCore;
use tower_http::request_id::{MakeRequestId, RequestId};

#[derive(Clone)]
pub struct SequentialRequestId {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl Default for SequentialRequestId {
    fn default() -> Self {
        let mut bytes = [0u8; 6];
        rand::rng().fill_bytes(&mut bytes);
        SequentialRequestId {
            prefix: hex::encode(bytes).into(),
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for SequentialRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n:x}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_share_the_process_prefix_and_never_repeat() {
        let mut maker = SequentialRequestId::default();
        let mut other = maker.clone();
        let request = Request::new(());
        let id = |m: &mut SequentialRequestId| {
            m.make_request_id(&request)
                .unwrap()
                .header_value()
                .to_str()
                .unwrap()
                .to_string()
        };
        let (a, b) = (id(&mut maker), id(&mut other));
        assert_ne!(a, b, "clones share one counter");
        assert_eq!(a.split('-').next(), b.split('-').next());
        let restarted = id(&mut SequentialRequestId::default());
        assert_ne!(restarted.split('-').next(), a.split('-').next());
    }
}
