//! A DNS stub for tests: a tiny authoritative server on loopback that answers
//! from records the test sets, so SPF, DKIM, DMARC and MX look-ups never
//! leave the machine.
//!
//! [`DnsStub::start`] binds UDP and TCP on the same free port of 127.0.0.1
//! (RFC 1035 4.2: the resolver retries over TCP when a UDP answer is
//! truncated, RFC 7766 5). Records can be added while it runs; a name with no
//! records at all gets NXDOMAIN, a known name without records of the asked
//! type an empty NOERROR answer (RFC 2308 2.2), and a name marked failing
//! SERVFAIL, as from a broken server. Every answer has TTL 0 so a
//! resolver's cache never hides a record added later. Dropping the stub stops
//! it.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use hickory_proto::op::{Edns, Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, MX, TXT};
use hickory_proto::rr::{Name, RData, Record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};

/// Largest UDP answer without EDNS (RFC 1035 4.2.1).
const UDP_LIMIT: usize = 512;
/// Largest UDP answer we send to a client that offers more with EDNS: the
/// DNS Flag Day 2020 size, safe from fragmentation.
const EDNS_UDP_LIMIT: u16 = 1232;
/// Longest character-string in a TXT record (RFC 1035 3.3).
const TXT_STRING_LIMIT: usize = 255;
/// How many times to look for a port free for both UDP and TCP.
const BIND_ATTEMPTS: usize = 20;

/// What is served, by lower-case name without the trailing dot.
type Zone = Arc<Mutex<Names>>;

#[derive(Default)]
struct Names {
    records: HashMap<String, Vec<RData>>,
    /// Names answered with SERVFAIL.
    failing: HashSet<String>,
}

/// A running DNS stub; see the module documentation.
pub struct DnsStub {
    addr: SocketAddr,
    zone: Zone,
    udp: JoinHandle<()>,
    tcp: JoinHandle<()>,
}

impl DnsStub {
    /// Starts a stub with no records on a free port of 127.0.0.1, serving
    /// UDP and TCP on that port. Needs a Tokio runtime.
    pub async fn start() -> io::Result<DnsStub> {
        let (udp, tcp) = bind_pair().await?;
        let addr = udp.local_addr()?;
        let zone = Zone::default();
        Ok(DnsStub {
            addr,
            udp: tokio::spawn(serve_udp(udp, Arc::clone(&zone))),
            tcp: tokio::spawn(serve_tcp(tcp, Arc::clone(&zone))),
            zone,
        })
    }

    /// Where the stub listens, over UDP and TCP.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Adds a TXT record; text longer than 255 bytes is split into several
    /// character-strings, as DKIM keys are published.
    pub fn add_txt(&self, name: &str, text: &str) {
        let strings: Vec<&[u8]> = text.as_bytes().chunks(TXT_STRING_LIMIT).collect();
        self.add(name, RData::TXT(TXT::from_bytes(strings)));
    }

    /// Adds an MX record.
    ///
    /// # Panics
    ///
    /// If `exchange` is not a valid domain name.
    pub fn add_mx(&self, name: &str, preference: u16, exchange: &str) {
        let exchange = Name::from_ascii(fqdn(exchange))
            .unwrap_or_else(|err| panic!("bad MX exchange `{exchange}`: {err}"));
        self.add(name, RData::MX(MX::new(preference, exchange)));
    }

    /// Adds an A record.
    pub fn add_a(&self, name: &str, addr: Ipv4Addr) {
        self.add(name, RData::A(A(addr)));
    }

    /// Adds an AAAA record.
    pub fn add_aaaa(&self, name: &str, addr: Ipv6Addr) {
        self.add(name, RData::AAAA(AAAA(addr)));
    }

    /// Answers every query for `name` with SERVFAIL from now on.
    pub fn fail(&self, name: &str) {
        lock(&self.zone).failing.insert(zone_key(name));
    }

    fn add(&self, name: &str, data: RData) {
        lock(&self.zone)
            .records
            .entry(zone_key(name))
            .or_default()
            .push(data);
    }
}

impl Drop for DnsStub {
    fn drop(&mut self) {
        self.udp.abort();
        // Dropping the TCP task drops its connections' JoinSet, which aborts
        // them too.
        self.tcp.abort();
    }
}

/// Binds UDP on a free loopback port, then TCP on the same port, trying
/// again with another port when that one is taken for TCP.
async fn bind_pair() -> io::Result<(UdpSocket, TcpListener)> {
    let mut last_error = None;
    for _ in 0..BIND_ATTEMPTS {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        match TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(err) => last_error = Some(err),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no free port")))
}

async fn serve_udp(socket: UdpSocket, zone: Zone) {
    let mut buffer = vec![0; usize::from(u16::MAX)];
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buffer).await else {
            continue;
        };
        let Some(request) = buffer.get(..len).and_then(|b| Message::from_vec(b).ok()) else {
            continue;
        };
        let limit = request.edns.as_ref().map_or(UDP_LIMIT, |edns| {
            usize::from(edns.max_payload().min(EDNS_UDP_LIMIT)).max(UDP_LIMIT)
        });
        let response = answer(&request, &zone);
        let bytes = match response.to_vec() {
            Ok(bytes) if bytes.len() <= limit => bytes,
            // Too big for UDP: the truncated answer sends the resolver to TCP.
            Ok(_) => match response.truncate().to_vec() {
                Ok(bytes) => bytes,
                Err(_) => continue,
            },
            Err(_) => continue,
        };
        // A lost answer is the resolver's to retry, as on a real network.
        let _ = socket.send_to(&bytes, peer).await;
    }
}

async fn serve_tcp(listener: TcpListener, zone: Zone) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        connections.spawn(serve_connection(stream, Arc::clone(&zone)));
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
}

/// Answers length-prefixed queries on one TCP connection (RFC 1035 4.2.2)
/// until the client closes it or sends something that is not DNS.
async fn serve_connection(mut stream: TcpStream, zone: Zone) {
    loop {
        let Ok(len) = stream.read_u16().await else {
            return;
        };
        let mut query = vec![0; usize::from(len)];
        if stream.read_exact(&mut query).await.is_err() {
            return;
        }
        let Ok(request) = Message::from_vec(&query) else {
            return;
        };
        let Ok(bytes) = answer(&request, &zone).to_vec() else {
            return;
        };
        let Ok(len) = u16::try_from(bytes.len()) else {
            return;
        };
        let mut reply = Vec::with_capacity(bytes.len() + 2);
        reply.extend_from_slice(&len.to_be_bytes());
        reply.extend_from_slice(&bytes);
        if stream.write_all(&reply).await.is_err() {
            return;
        }
    }
}

/// The authoritative answer to `request`'s first question.
fn answer(request: &Message, zone: &Zone) -> Message {
    let mut response = Message::response(request.metadata.id, request.metadata.op_code);
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    if request.metadata.op_code != OpCode::Query || request.queries.len() != 1 {
        response.metadata.response_code = ResponseCode::NotImp;
        return response;
    }
    response.metadata.authoritative = true;
    response.add_queries(request.queries.iter().cloned());
    if request.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_UDP_LIMIT);
        response.set_edns(edns);
    }

    let Some(query) = request.queries.first() else {
        return response;
    };
    let key = zone_key(&query.name().to_ascii());
    let names = lock(zone);
    if names.failing.contains(&key) {
        response.metadata.response_code = ResponseCode::ServFail;
        return response;
    }
    let records = names.records.get(&key).cloned();
    drop(names);
    match records {
        None => response.metadata.response_code = ResponseCode::NXDomain,
        Some(records) => {
            let matching = records
                .into_iter()
                .filter(|data| data.record_type() == query.query_type())
                .map(|data| Record::from_rdata(query.name().clone(), 0, data));
            response.add_answers(matching);
        }
    }
    response
}

/// The zone's key for `name`: lower case, without the trailing dot.
fn zone_key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

/// The zone, even if a test thread panicked while holding it: the map is
/// never left half-updated.
fn lock(zone: &Zone) -> std::sync::MutexGuard<'_, Names> {
    zone.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hickory_proto::op::Query;
    use hickory_proto::rr::RecordType;
    use tokio::time::timeout;

    use super::*;

    const LIMIT: Duration = Duration::from_secs(10);

    fn query(name: &str, record_type: RecordType) -> Message {
        let mut message = Message::query();
        message.metadata.recursion_desired = true;
        let name = Name::from_ascii(name).expect("query name");
        message.add_query(Query::query(name, record_type));
        message
    }

    async fn ask_udp(stub: &DnsStub, request: &Message) -> Message {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("client socket");
        let bytes = request.to_vec().expect("encode query");
        socket.send_to(&bytes, stub.addr()).await.expect("send");
        let mut buffer = vec![0; usize::from(u16::MAX)];
        let (len, _) = socket.recv_from(&mut buffer).await.expect("receive");
        Message::from_vec(&buffer[..len]).expect("decode answer")
    }

    async fn ask_tcp(stub: &DnsStub, request: &Message) -> Message {
        let mut stream = TcpStream::connect(stub.addr()).await.expect("connect");
        let bytes = request.to_vec().expect("encode query");
        let len = u16::try_from(bytes.len()).expect("short query");
        stream.write_u16(len).await.expect("send length");
        stream.write_all(&bytes).await.expect("send query");
        let len = stream.read_u16().await.expect("answer length");
        let mut answer = vec![0; usize::from(len)];
        stream.read_exact(&mut answer).await.expect("answer");
        Message::from_vec(&answer).expect("decode answer")
    }

    fn txt_strings(message: &Message) -> Vec<Vec<Vec<u8>>> {
        message
            .answers
            .iter()
            .filter_map(|record| match &record.data {
                RData::TXT(txt) => Some(txt.txt_data.iter().map(|s| s.to_vec()).collect()),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn answers_the_records_it_was_given() {
        timeout(LIMIT, async {
            let stub = DnsStub::start().await.expect("start stub");
            stub.add_txt("example.org", "v=spf1 ip4:127.0.0.1 -all");
            stub.add_mx("Example.ORG.", 10, "mx.example.org");
            stub.add_a("mx.example.org", Ipv4Addr::new(127, 0, 0, 2));
            stub.add_aaaa("mx.example.org", Ipv6Addr::LOCALHOST);

            let txt = ask_udp(&stub, &query("EXAMPLE.org.", RecordType::TXT)).await;
            assert_eq!(txt.metadata.response_code, ResponseCode::NoError);
            assert!(txt.metadata.authoritative);
            assert_eq!(txt_strings(&txt), [[b"v=spf1 ip4:127.0.0.1 -all".to_vec()]]);

            let mx = ask_udp(&stub, &query("example.org.", RecordType::MX)).await;
            let RData::MX(record) = &mx.answers[0].data else {
                panic!("not an MX: {mx:?}");
            };
            assert_eq!(record.preference, 10);
            assert_eq!(record.exchange.to_ascii(), "mx.example.org.");

            let a = ask_udp(&stub, &query("mx.example.org.", RecordType::A)).await;
            assert_eq!(a.answers[0].data, RData::A(A(Ipv4Addr::new(127, 0, 0, 2))));
            let aaaa = ask_tcp(&stub, &query("mx.example.org.", RecordType::AAAA)).await;
            assert_eq!(aaaa.answers[0].data, RData::AAAA(AAAA(Ipv6Addr::LOCALHOST)));
        })
        .await
        .expect("test timed out");
    }

    #[tokio::test]
    async fn unknown_names_are_nxdomain_and_missing_types_empty() {
        timeout(LIMIT, async {
            let stub = DnsStub::start().await.expect("start stub");
            stub.add_a("host.example.org", Ipv4Addr::LOCALHOST);

            let missing = ask_udp(&stub, &query("nowhere.example.org.", RecordType::A)).await;
            assert_eq!(missing.metadata.response_code, ResponseCode::NXDomain);
            assert!(missing.answers.is_empty());

            let no_txt = ask_tcp(&stub, &query("host.example.org.", RecordType::TXT)).await;
            assert_eq!(no_txt.metadata.response_code, ResponseCode::NoError);
            assert!(no_txt.answers.is_empty());

            // Records added while running are served at once.
            stub.add_txt("nowhere.example.org", "now here");
            let found = ask_udp(&stub, &query("nowhere.example.org.", RecordType::TXT)).await;
            assert_eq!(txt_strings(&found), [[b"now here".to_vec()]]);

            // So are failures.
            stub.fail("host.example.org");
            let failed = ask_tcp(&stub, &query("host.example.org.", RecordType::A)).await;
            assert_eq!(failed.metadata.response_code, ResponseCode::ServFail);
            assert!(failed.answers.is_empty());
        })
        .await
        .expect("test timed out");
    }

    #[tokio::test]
    async fn long_txt_is_split_and_truncated_over_udp() {
        timeout(LIMIT, async {
            let stub = DnsStub::start().await.expect("start stub");
            let key = "k".repeat(600);
            stub.add_txt("sel._domainkey.example.org", &key);
            let request = query("sel._domainkey.example.org.", RecordType::TXT);

            // Without EDNS a UDP answer stops at 512 bytes: truncated.
            let udp = ask_udp(&stub, &request).await;
            assert!(udp.metadata.truncation);
            assert!(udp.answers.is_empty());

            let tcp = ask_tcp(&stub, &request).await;
            let strings = txt_strings(&tcp);
            let lengths: Vec<usize> = strings[0].iter().map(Vec::len).collect();
            assert_eq!(lengths, [255, 255, 90]);
            assert_eq!(strings[0].concat(), key.as_bytes());

            // With EDNS the same answer fits in one datagram.
            let mut with_edns = request.clone();
            let mut edns = Edns::new();
            edns.set_max_payload(EDNS_UDP_LIMIT);
            with_edns.set_edns(edns);
            let udp = ask_udp(&stub, &with_edns).await;
            assert!(!udp.metadata.truncation);
            assert_eq!(txt_strings(&udp), strings);
        })
        .await
        .expect("test timed out");
    }

    #[tokio::test]
    async fn dropping_the_stub_stops_it() {
        timeout(LIMIT, async {
            let stub = DnsStub::start().await.expect("start stub");
            let addr = stub.addr();
            drop(stub);
            // Aborted tasks drop their sockets at the runtime's next turn.
            tokio::task::yield_now().await;
            for _ in 0..100 {
                if TcpStream::connect(addr).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("stub still accepts connections on {addr}");
        })
        .await
        .expect("test timed out");
    }
}
