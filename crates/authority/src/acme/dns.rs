//! A stub resolver for validation: one question to one recursive server, over UDP with a retry
//! over TCP when the answer is truncated. Messages are built and read by `simple-dns`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use simple_dns::rdata::RData;
use simple_dns::{CLASS, Name, Packet, PacketFlag, QCLASS, QTYPE, Question, TYPE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// How long one query may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest answer read over TCP.
const MAX_TCP_ANSWER: usize = 65_535;

/// What a lookup found.
pub(super) enum Answer {
    Addresses(Vec<IpAddr>),
    Texts(Vec<String>),
}

/// The server in /etc/resolv.conf, when none is configured.
pub(super) fn system_resolver() -> Option<SocketAddr> {
    let conf = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    conf.lines().find_map(|l| {
        let ip: IpAddr = l.trim().strip_prefix("nameserver")?.trim().parse().ok()?;
        Some(SocketAddr::new(ip, 53))
    })
}

/// The A and AAAA records of `name`.
pub(super) async fn addresses(server: SocketAddr, name: &str) -> Result<Vec<IpAddr>, String> {
    let mut out = Vec::new();
    for qtype in [TYPE::A, TYPE::AAAA] {
        if let Answer::Addresses(found) = query(server, name, qtype).await? {
            out.extend(found);
        }
    }
    Ok(out)
}

/// The TXT records of `name`, each record's strings joined.
pub(super) async fn texts(server: SocketAddr, name: &str) -> Result<Vec<String>, String> {
    match query(server, name, TYPE::TXT).await? {
        Answer::Texts(t) => Ok(t),
        Answer::Addresses(_) => Ok(Vec::new()),
    }
}

async fn query(server: SocketAddr, name: &str, qtype: TYPE) -> Result<Answer, String> {
    let id = u16::from_be_bytes(certus_kms::random_bytes::<2>());
    let mut packet = Packet::new_query(id);
    packet.set_flags(PacketFlag::RECURSION_DESIRED);
    let qname = Name::new(name).map_err(|e| format!("{name:?}: {e}"))?;
    packet.questions.push(Question::new(qname, QTYPE::TYPE(qtype), QCLASS::CLASS(CLASS::IN), false));
    let message = packet.build_bytes_vec().map_err(|e| e.to_string())?;
    let reply = tokio::time::timeout(QUERY_TIMEOUT, exchange(server, &message, id))
        .await
        .map_err(|_| format!("DNS query for {name} timed out"))??;
    let parsed = Packet::parse(&reply).map_err(|e| format!("unreadable DNS answer: {e}"))?;
    if parsed.rcode() != simple_dns::RCODE::NoError && parsed.rcode() != simple_dns::RCODE::NameError {
        return Err(format!("DNS server answered {:?} for {name}", parsed.rcode()));
    }
    let mut addresses = Vec::new();
    let mut texts = Vec::new();
    for rr in parsed.answers {
        match rr.rdata {
            RData::A(a) => addresses.push(IpAddr::from(std::net::Ipv4Addr::from(a.address))),
            RData::AAAA(a) => addresses.push(IpAddr::from(std::net::Ipv6Addr::from(a.address))),
            RData::TXT(t) => texts.push(String::try_from(t).unwrap_or_default()),
            _ => {}
        }
    }
    Ok(if qtype == TYPE::TXT { Answer::Texts(texts) } else { Answer::Addresses(addresses) })
}

/// Sends over UDP; a truncated answer is asked again over TCP.
async fn exchange(server: SocketAddr, message: &[u8], id: u16) -> Result<Vec<u8>, String> {
    let local: SocketAddr = if server.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let socket = UdpSocket::bind(local).await.map_err(|e| e.to_string())?;
    socket.connect(server).await.map_err(|e| e.to_string())?;
    socket.send(message).await.map_err(|e| format!("DNS server {server}: {e}"))?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = socket.recv(&mut buf).await.map_err(|e| format!("DNS server {server}: {e}"))?;
        let Ok(reply) = Packet::parse(&buf[..n]) else { continue };
        if reply.id() != id {
            continue;
        }
        if !reply.has_flags(PacketFlag::TRUNCATION) {
            return Ok(buf[..n].to_vec());
        }
        break;
    }
    let mut tcp = TcpStream::connect(server).await.map_err(|e| format!("DNS server {server} over TCP: {e}"))?;
    let len = u16::try_from(message.len()).map_err(|_| "DNS query too long".to_owned())?;
    tcp.write_all(&len.to_be_bytes()).await.map_err(|e| e.to_string())?;
    tcp.write_all(message).await.map_err(|e| e.to_string())?;
    let answer_len = usize::from(tcp.read_u16().await.map_err(|e| e.to_string())?).min(MAX_TCP_ANSWER);
    let mut answer = vec![0u8; answer_len];
    tcp.read_exact(&mut answer).await.map_err(|e| e.to_string())?;
    Ok(answer)
}
