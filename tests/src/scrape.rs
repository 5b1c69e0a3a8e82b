//! Reading the Prometheus text of `/metrics` on the admin listener: one
//! [`scrape`], its samples by name and labels, and [`scrape_until`] a
//! condition holds.

use std::net::SocketAddr;
use std::time::Duration;

use crate::http::request;

/// One scrape: the text and its samples.
pub struct Scrape {
    pub text: String,
    samples: Vec<Sample>,
}

/// One sample line: a series name, its labels sorted, and a value.
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Scrape {
    pub fn parse(text: String) -> Scrape {
        let samples = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .map(|line| {
                let (series, value) = line
                    .rsplit_once(' ')
                    .unwrap_or_else(|| panic!("not a sample line: {line:?}"));
                let value: f64 = value
                    .parse()
                    .unwrap_or_else(|_| panic!("not a sample value: {line:?}"));
                let (name, labels) = match series.split_once('{') {
                    None => (series, Vec::new()),
                    Some((name, rest)) => {
                        let inner = rest
                            .strip_suffix('}')
                            .unwrap_or_else(|| panic!("unclosed labels: {line:?}"));
                        let mut labels: Vec<(String, String)> = inner
                            .split(',')
                            .map(|pair| {
                                let (key, value) = pair
                                    .split_once('=')
                                    .unwrap_or_else(|| panic!("not a label: {line:?}"));
                                (key.to_owned(), value.trim_matches('"').to_owned())
                            })
                            .collect();
                        labels.sort();
                        (name, labels)
                    }
                };
                Sample {
                    name: name.to_owned(),
                    labels,
                    value,
                }
            })
            .collect();
        Scrape { text, samples }
    }

    /// The value of the series `name` with exactly `labels`, if present.
    pub fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut wanted: Vec<(String, String)> = labels
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        wanted.sort();
        self.samples
            .iter()
            .find(|sample| sample.name == name && sample.labels == wanted)
            .map(|sample| sample.value)
    }

    /// The value of a series that must be present.
    #[track_caller]
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.find(name, labels)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{}", self.text))
    }
}

/// Scrapes `/metrics` on the admin listener at `admin`.
pub async fn scrape(admin: SocketAddr) -> Scrape {
    let (status, body) = request(admin, "GET", "/metrics", "").await;
    assert_eq!(status, 200, "GET /metrics: {body}");
    Scrape::parse(body)
}

/// Scrapes until `ready` holds, at most `limit`; `what` names what is
/// waited for in the panic.
pub async fn scrape_until(
    admin: SocketAddr,
    limit: Duration,
    what: &str,
    ready: impl Fn(&Scrape) -> bool,
) -> Scrape {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let scrape = scrape(admin).await;
        if ready(&scrape) {
            return scrape;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} not within {limit:?}:\n{}",
            scrape.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
