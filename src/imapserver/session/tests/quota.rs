//! QUOTA (RFC 9208): the account's one quota root with STORAGE and MESSAGE, and
//! STATUS DELETED-STORAGE.

use super::*;
use crate::store::Quota;

#[test]
fn quota_root_usage_limits_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    append_message(&server, "alice", "Inbox", MESSAGE);
    append_message(&server, "alice", "Inbox", MESSAGE);
    let account = server.services.store.account("alice").unwrap();
    account.lock().unwrap().set_quota(Quota {
        bytes: Some(4096),
        messages: Some(3),
    });
    let mut log = String::new();
    let mut a = server.logged_in("alice", "A");
    let mut b = server.logged_in("bob", "B");
    for command in [
        "a1 GETQUOTAROOT INBOX\r\n",
        "a2 GETQUOTA \"\"\r\n",
        "a3 GETQUOTA other\r\n",
        "a4 GETQUOTAROOT Nowhere\r\n",
        "a5 SETQUOTA \"\" (STORAGE 1000000)\r\n",
        "a6 SELECT INBOX\r\n",
        "a7 STORE 1 +FLAGS.SILENT (\\Deleted)\r\n",
        "a8 STATUS INBOX (DELETED DELETED-STORAGE)\r\n",
        "a9 COPY 1:2 Archive\r\n",
        "a10 COPY 1 Archive\r\n",
        "a11 GETQUOTAROOT Archive\r\n",
    ] {
        a.send(command, &mut log);
    }
    b.send("b1 GETQUOTAROOT INBOX\r\n", &mut log);
    b.send("b2 GETQUOTA \"\"\r\n", &mut log);
    insta::assert_snapshot!(log);
}
