//! What a session needs to know about its TLS connection once the handshake is
//! done: what was negotiated (for Received headers and login records), who the
//! client certificate says the client is, and the channel binding for
//! SCRAM-*-PLUS.

use rustls::{CipherSuite, ProtocolVersion, ServerConfig, ServerConnection};

use super::SpkiFingerprint;

/// RFC 9266: the `tls-exporter` channel binding is this many bytes exported
/// with this label and no context.
const EXPORTER_LABEL: &[u8] = b"EXPORTER-Channel-Binding";
const EXPORTER_LEN: usize = 32;

/// The negotiated parameters and identities of a finished server handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub version: ProtocolVersion,
    pub cipher_suite: CipherSuite,
    /// The public key of the client certificate, if the client sent one. The
    /// handshake proved the client holds its private key; nothing else in the
    /// certificate is trusted.
    pub client_key: Option<SpkiFingerprint>,
    /// The `tls-exporter` channel binding (RFC 9266), or `None` where it would
    /// not be unique to this connection.
    pub channel_binding: Option<[u8; EXPORTER_LEN]>,
}

impl ConnectionInfo {
    /// Reads `conn` after its handshake; `None` while it is still handshaking.
    ///
    /// `config` must be the config `conn` was made with: rustls does not say
    /// whether a TLS 1.2 handshake used Extended Master Secret, but a config that
    /// requires it (as this module's do) guarantees it.
    pub fn from_connection(conn: &ServerConnection, config: &ServerConfig) -> Option<Self> {
        if conn.is_handshaking() {
            return None;
        }
        let version = conn.protocol_version()?;
        let binding_sound = version == ProtocolVersion::TLSv1_3
            || (version == ProtocolVersion::TLSv1_2 && config.require_ems);
        Some(ConnectionInfo {
            version,
            cipher_suite: conn.negotiated_cipher_suite()?.suite(),
            // The verifier parsed the certificate already; should it fail here
            // anyway, the client is just not identified.
            client_key: conn
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|cert| SpkiFingerprint::of_certificate(cert).ok()),
            channel_binding: binding_sound.then(|| tls_exporter(conn)).flatten(),
        })
    }

    /// For Received header comments and login records, e.g.
    /// `version=TLS1.3 cipher=TLS_AES_128_GCM_SHA256`, with the IANA names.
    pub fn summary(&self) -> String {
        summary(self.version, self.cipher_suite)
    }
}

/// `version=TLS1.3 cipher=TLS_AES_128_GCM_SHA256`: what a connection, server or
/// client side, negotiated.
pub fn summary(version: ProtocolVersion, suite: CipherSuite) -> String {
    format!(
        "version={} cipher={}",
        version_name(version),
        cipher_name(suite)
    )
}

fn tls_exporter(conn: &ServerConnection) -> Option<[u8; EXPORTER_LEN]> {
    conn.export_keying_material([0; EXPORTER_LEN], EXPORTER_LABEL, None)
        .ok()
}

fn version_name(version: ProtocolVersion) -> String {
    match version {
        ProtocolVersion::TLSv1_2 => "TLS1.2".to_string(),
        ProtocolVersion::TLSv1_3 => "TLS1.3".to_string(),
        other => format!("{other:?}"),
    }
}

/// rustls names TLS 1.3 suites `TLS13_...`; IANA and other servers' Received
/// headers call them `TLS_...`.
fn cipher_name(suite: CipherSuite) -> String {
    match suite.as_str() {
        Some(name) => match name.strip_prefix("TLS13_") {
            Some(rest) => format!("TLS_{rest}"),
            None => name.to_string(),
        },
        None => format!("0x{:04X}", u16::from(suite)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_uses_iana_names() {
        let info = ConnectionInfo {
            version: ProtocolVersion::TLSv1_3,
            cipher_suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
            client_key: None,
            channel_binding: None,
        };
        assert_eq!(
            info.summary(),
            "version=TLS1.3 cipher=TLS_AES_128_GCM_SHA256"
        );
        let info = ConnectionInfo {
            version: ProtocolVersion::TLSv1_2,
            cipher_suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            ..info
        };
        assert_eq!(
            info.summary(),
            "version=TLS1.2 cipher=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
        );
    }
}
