//! Trace header fields added on delivery: Return-Path and Delivered-To, and Received
//! (RFC 5321 4.4, with the "with" keywords of RFC 3848).

use std::net::IpAddr;

use super::date::rfc5322_date;

/// What a Received header field records about one hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The EHLO or HELO name the client gave.
    pub helo: String,
    pub remote_ip: IpAddr,
    /// This server's name.
    pub by: String,
    /// RFC 3848 protocol keyword: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, UTF8SMTPS, ...
    pub protocol: String,
    /// TLS version and cipher suite, when the session was encrypted.
    pub tls: Option<String>,
    /// Identifies the delivery in the logs.
    pub id: String,
    /// The recipient, when there is exactly one.
    pub recipient: Option<String>,
    pub time: i64,
}

impl Received {
    /// The header field, folded, with CRLF. Values from the client are written only
    /// as the grammar admitted them (the HELO name was parsed as a domain), so they
    /// cannot break the field.
    pub fn header(&self) -> String {
        let ip = match self.remote_ip {
            IpAddr::V4(ip) => format!("[{ip}]"),
            IpAddr::V6(ip) => format!("[IPv6:{ip}]"),
        };
        let tls = self
            .tls
            .as_ref()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default();
        let recipient = self
            .recipient
            .as_ref()
            .map(|r| format!("\r\n\tfor <{r}>"))
            .unwrap_or_default();
        format!(
            "Received: from {} ({ip})\r\n\tby {} with {}{tls}\r\n\tid {}{recipient};\r\n\t{}\r\n",
            self.helo,
            self.by,
            self.protocol,
            self.id,
            rfc5322_date(self.time)
        )
    }
}

/// Return-Path and Delivered-To for a delivery to `recipient`, with CRLF.
pub fn trace_headers(return_path: &str, recipient: &str) -> String {
    format!("Return-Path: {return_path}\r\nDelivered-To: {recipient}\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_records_the_hop() {
        let r = Received {
            helo: "client.example".into(),
            remote_ip: "192.0.2.7".parse().unwrap(),
            by: "mail.example.org".into(),
            protocol: "ESMTPS".into(),
            tls: Some("TLS1.3 TLS_AES_128_GCM_SHA256".into()),
            id: "1a2b".into(),
            recipient: Some("alice@example.org".into()),
            time: 0,
        };
        assert_eq!(
            r.header(),
            "Received: from client.example ([192.0.2.7])\r\n\tby mail.example.org with ESMTPS (TLS1.3 TLS_AES_128_GCM_SHA256)\r\n\tid 1a2b\r\n\tfor <alice@example.org>;\r\n\tThu, 1 Jan 1970 00:00:00 +0000\r\n"
        );
    }
}
