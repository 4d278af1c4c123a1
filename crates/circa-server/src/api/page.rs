//! Page tokens: opaque to clients (`next_page_token` → `?page-token=`), URL-safe base64 of
//! the list's kind and the last item's sort key, so a token from one list is refused by
//! another and a made-up one is a 400.

use base64::Engine as _;

use crate::error::{ApiError, ApiResult};

/// How many items a page holds.
pub const PAGE_SIZE: usize = 20;

/// A token continuing `list` after `key`.
pub fn token(list: &str, key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{list}:{key}"))
}

/// The key a `page-token` continues after; `None` for the first page. A token that this
/// server did not give for `list` is a 400 naming the parameter.
pub fn key(list: &str, token: Option<&str>) -> ApiResult<Option<String>> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let bad = || ApiError::bad_request("page-token: not a page token this server gave");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (kind, key) = text.split_once(':').ok_or_else(bad)?;
    if kind != list || key.is_empty() {
        return Err(bad());
    }
    Ok(Some(key.to_string()))
}

/// A numeric key (pipeline numbers).
pub fn number_key(list: &str, token: Option<&str>) -> ApiResult<Option<i64>> {
    key(list, token)?
        .map(|k| {
            k.parse::<i64>()
                .map_err(|_| ApiError::bad_request("page-token: not a page token this server gave"))
        })
        .transpose()
}

/// A page of `items` out of a sorted list, starting after the item whose key is `after`:
/// the page and the token for the next one.
pub fn slice<T>(
    list: &str,
    items: Vec<T>,
    after: Option<&str>,
    key_of: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let start = match after {
        Some(after) => items
            .iter()
            .position(|i| key_of(i) == after)
            .map(|p| p + 1)
            .unwrap_or(items.len()),
        None => 0,
    };
    let rest: Vec<T> = items.into_iter().skip(start).collect();
    let more = rest.len() > PAGE_SIZE;
    let page: Vec<T> = rest.into_iter().take(PAGE_SIZE).collect();
    let next = more
        .then(|| page.last().map(|l| token(list, &key_of(l))))
        .flatten();
    (page, next)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tokens_round_trip_and_strangers_are_refused() {
        let t = token("pipelines", "42");
        assert_eq!(number_key("pipelines", Some(&t)).unwrap(), Some(42));
        assert_eq!(number_key("pipelines", None).unwrap(), None);
        assert_eq!(number_key("pipelines", Some("")).unwrap(), None);
        assert_eq!(number_key("jobs", Some(&t)).unwrap_err().status(), 400);
        assert_eq!(
            number_key("pipelines", Some("%%%")).unwrap_err().status(),
            400
        );
        let wrong = token("pipelines", "x");
        let e = number_key("pipelines", Some(&wrong)).unwrap_err();
        assert!(e.message().contains("page-token"));
    }

    #[test]
    fn slices_continue_after_the_last_key() {
        let items: Vec<u32> = (0..45).collect();
        let (a, next) = slice("n", items.clone(), None, |i| i.to_string());
        assert_eq!(a.len(), PAGE_SIZE);
        let after = key("n", next.as_deref()).unwrap();
        let (b, next) = slice("n", items.clone(), after.as_deref(), |i| i.to_string());
        assert_eq!(b[0], 20);
        let after = key("n", next.as_deref()).unwrap();
        let (c, next) = slice("n", items, after.as_deref(), |i| i.to_string());
        assert_eq!(c, vec![40, 41, 42, 43, 44]);
        assert!(next.is_none());
    }
}
