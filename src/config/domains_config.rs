//! `domains.toml`: the domains, accounts and aliases this server handles mail for.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::transports::RouteConfig;

/// Domains, accounts and aliases.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DomainsConfig {
    /// Domains this server accepts mail for, by name (U-label or A-label form).
    #[serde(default)]
    pub domains: BTreeMap<String, DomainConfig>,
    /// Accounts by name. The name is the name of the account's directory; it and the
    /// account's configured addresses are its login names.
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountConfig>,
    /// Aliases by address: mail to the address goes to every member.
    #[serde(default)]
    pub aliases: BTreeMap<String, AliasConfig>,
}

/// One `[domains."NAME"]` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DomainConfig {
    /// Free text for the admin interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Characters that end the part of a local part used for delivery: with "+",
    /// mail to alice+news@ is delivered as mail to alice@.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = vec!['+'])]
    pub localpart_catchall_separators: Vec<char>,
    /// Whether local parts are case-sensitive. RFC 5321 allows it; almost no one wants
    /// Alice@ and alice@ to be different people.
    #[serde(default)]
    pub localpart_case_sensitive: bool,
    /// When set, logins to every account of this domain are refused with this
    /// message (SMTP, IMAP and the web show it); mail delivery continues. Useful
    /// during a migration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = "mail is moving to a new server; try again tomorrow")]
    pub login_disabled: Option<String>,
    /// DKIM keys by selector (RFC 6376): mail submitted with a From address at this
    /// domain is signed with each key whose `sign` is true. Publish each key's
    /// record (`gannet dkim txt KEYFILE`) at SELECTOR._domainkey.DOMAIN first.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dkim: BTreeMap<String, DkimSelector>,
    /// Routes for mail from this domain (its MAIL FROM domain), checked after those of
    /// the sending account and before those of gannet.toml; the first that matches wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteConfig>,
}

/// One `[domains."NAME".dkim.SELECTOR]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DkimSelector {
    /// The private key, PEM (PKCS#8 or PKCS#1), as `gannet dkim genrsa` or
    /// `gannet dkim gened25519` write it; relative to the config directory.
    #[schemars(example = "dkim/example.org-2026a.pem")]
    pub key_file: PathBuf,
    /// Whether to sign with this key now. Set false to publish a new key's record
    /// before signing with it, or to keep an old one published after a rotation.
    #[serde(default = "yes")]
    pub sign: bool,
    /// Signatures expire this many seconds after signing (x=); none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_seconds: Option<u64>,
}

fn yes() -> bool {
    true
}

/// One `[accounts.NAME]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AccountConfig {
    /// The account's domain: bare local parts in destinations are at this domain.
    #[schemars(example = "example.org")]
    pub domain: String,
    /// Addresses delivered to this account: a full address, a bare local part (at
    /// the account's domain), or "@domain" to catch all unknown addresses of a domain.
    #[schemars(example = vec!["alice", "alice.smith@example.org", "@example.net"])]
    pub destinations: Vec<String>,
    /// Name used in the From header of messages written in the webmail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// When set, logins to this account are refused with this message (SMTP, IMAP
    /// and the web show it); mail delivery continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = "account is being migrated; try again in an hour")]
    pub login_disabled: Option<String>,
    /// Storage limit for the account's messages, in bytes (all mailboxes together).
    /// Deliveries and IMAP APPEND/COPY that would go over it are refused; IMAP
    /// clients see it with GETQUOTAROOT. Unlimited when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = 1_073_741_824u64)]
    pub quota_bytes: Option<u64>,
    /// Limit on the number of messages in the account, like `quota_bytes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = 100_000u64)]
    pub quota_messages: Option<u64>,
    /// Send each message with a MAIL FROM of its own: the sender's local part, the
    /// first catchall separator of its domain and a random id ("alice+k3x9...@"), so
    /// that a DSN coming back later is matched to the message it is about (`gannet
    /// queue list --retired` shows what it said). The sender's domain needs
    /// `localpart_catchall_separators`; without one the MAIL FROM stays as given.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unique_mail_from: bool,
    /// Routes for mail this account sends, checked before those of the sender's
    /// domain and of gannet.toml; the first that matches wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteConfig>,
}

/// One `[aliases."ADDRESS"]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AliasConfig {
    /// Addresses that receive the alias's mail; they may be local or remote.
    #[schemars(example = vec!["alice@example.org", "bob@example.org"])]
    pub members: Vec<String>,
    /// Whether anyone may send to the alias; otherwise only its members may.
    #[serde(default)]
    pub post_public: bool,
    /// Whether members may see who the other members are.
    #[serde(default)]
    pub list_members: bool,
    /// Whether members may send with the alias as From address.
    #[serde(default)]
    pub allow_msg_from: bool,
}
