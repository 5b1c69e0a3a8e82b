//! Cookies (RFC 6265): the one reader of a request's `Cookie` headers, and
//! the `Set-Cookie` values of the service's few cookies, each described
//! once by a [`Jar`].

use axum::http::{HeaderMap, HeaderValue, header};

/// A cookie's value, from any of the request's `Cookie` headers; the first
/// of that name wins.
pub fn read<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// One of the service's cookies: its name and the attributes it is always
/// set with.
pub struct Jar {
    pub name: &'static str,
    pub path: &'static str,
    /// Kept from scripts (`HttpOnly`).
    pub http_only: bool,
    /// `Lax` or `Strict`: which cross-site requests carry it.
    pub same_site: &'static str,
}

impl Jar {
    /// The `Set-Cookie` value that keeps `value` for `max_age` seconds; 0
    /// removes the cookie. `secure` when the service runs on TLS.
    pub fn set(&self, value: &str, max_age: i64, secure: bool) -> HeaderValue {
        let Jar {
            name,
            path,
            same_site,
            ..
        } = self;
        let http_only = if self.http_only { "; HttpOnly" } else { "" };
        let secure = if secure { "; Secure" } else { "" };
        let text = format!(
            "{name}={value}; Path={path}; Max-Age={max_age}{http_only}; SameSite={same_site}{secure}"
        );
        // Values are tokens the service made or fixed text; anything else
        // sets nothing rather than a broken header.
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The `Set-Cookie` value that removes the cookie.
    pub fn clear(&self, secure: bool) -> HeaderValue {
        self.set("", 0, secure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; postino_session=abc; x=y; a=3"),
        );
        assert_eq!(read(&headers, "postino_session"), Some("abc"));
        assert_eq!(read(&headers, "a"), Some("1"));
        assert_eq!(read(&headers, "postino"), None);
        assert_eq!(read(&HeaderMap::new(), "a"), None);
    }

    #[test]
    fn sets_and_clears_with_the_same_attributes() {
        let jar = Jar {
            name: "c",
            path: "/p",
            http_only: true,
            same_site: "Strict",
        };
        assert_eq!(
            jar.set("v", 60, true),
            "c=v; Path=/p; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
        assert_eq!(
            jar.clear(false),
            "c=; Path=/p; Max-Age=0; HttpOnly; SameSite=Strict"
        );
        let readable = Jar {
            http_only: false,
            ..jar
        };
        assert_eq!(
            readable.set("v", 1, false),
            "c=v; Path=/p; Max-Age=1; SameSite=Strict"
        );
        assert_eq!(readable.set("a\nb", 1, false), "");
    }
}
