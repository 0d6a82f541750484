use super::*;

fn sample() -> AuthenticationResults {
    AuthenticationResults {
        authserv_id: "mx.example.net".into(),
        version: None,
        results: vec![
            MethodResult::new("spf", "pass").property("smtp", "mailfrom", "sender@example.org"),
            MethodResult::new("dkim", "pass")
                .comment("2048-bit key")
                .property("header", "d", "example.org")
                .property("header", "s", "sel"),
            MethodResult::new("dmarc", "fail")
                .reason("no aligned pass")
                .property("header", "from", "example.org"),
            MethodResult::new("iprev", "pass")
                .comment("mail.example.org")
                .property("policy", "iprev", "192.0.2.1"),
        ],
    }
}

#[test]
fn fields_are_written_one_result_per_line_and_read_back() {
    let field = sample();
    let text = field.to_string();
    assert_eq!(
        text,
        "mx.example.net;\r\n\
         \tspf=pass smtp.mailfrom=sender@example.org;\r\n\
         \tdkim=pass (2048-bit key) header.d=example.org header.s=sel;\r\n\
         \tdmarc=fail reason=\"no aligned pass\" header.from=example.org;\r\n\
         \tiprev=pass (mail.example.org) policy.iprev=192.0.2.1"
    );
    let unfolded = text.replace("\r\n", "");
    assert_eq!(AuthenticationResults::parse(&unfolded).unwrap(), field);
    let none = AuthenticationResults {
        authserv_id: "mx.example.net".into(),
        version: Some(1),
        results: vec![],
    };
    assert_eq!(none.to_string(), "mx.example.net 1; none");
    assert_eq!(
        AuthenticationResults::parse("mx.example.net 1; none").unwrap(),
        none
    );
}

#[test]
fn rfc_8601_appendix_b_examples_read() {
    // B.2, B.3, B.4, B.6 (unfolded), comments anywhere.
    let b6 = "example.com; dkim=pass (good signature) header.d=mail-router.example.net; \
              dkim=fail (bad signature) header.d=newyork.example.com";
    let field = AuthenticationResults::parse(b6).unwrap();
    assert_eq!(field.authserv_id, "example.com");
    assert_eq!(field.results.len(), 2);
    assert_eq!(field.results[1].result, "fail");
    assert_eq!(field.results[1].comment.as_deref(), Some("bad signature"));
    assert_eq!(field.results[1].properties[0].value, "newyork.example.com");

    let b3 = "example.com; auth=pass (cram-md5) smtp.auth=sender@example.net; spf=pass smtp.mailfrom=example.net";
    let field = AuthenticationResults::parse(b3).unwrap();
    assert_eq!(field.results[0].properties[0].property, "auth");
    assert_eq!(field.results[0].properties[0].value, "sender@example.net");

    let b5 = "example.com; sender-id=fail header.from=example.com; dkim=pass (good signature) header.d=example.com";
    assert_eq!(
        AuthenticationResults::parse(b5).unwrap().results[0].method,
        "sender-id"
    );

    let with_comments = "(comment) example.com (another) 1 ; (x) SPF (y) / 1 = Pass (why) Reason = \"it \\\"is\\\"\" smtp . mailfrom = (c) @example.net";
    let field = AuthenticationResults::parse(with_comments).unwrap();
    assert_eq!(field.version, Some(1));
    let spf = &field.results[0];
    assert_eq!(
        (spf.method.as_str(), spf.method_version, spf.result.as_str()),
        ("spf", Some(1), "pass")
    );
    assert_eq!(spf.reason.as_deref(), Some("it \"is\""));
    assert_eq!(spf.properties[0].value, "@example.net");
}

#[test]
fn bad_fields_are_refused_with_where() {
    for bad in [
        "",
        "example.com",
        "example.com; spf",
        "example.com; spf=",
        "example.com; =pass",
        "example.com; none; spf=pass",
    ] {
        assert!(AuthenticationResults::parse(bad).is_err(), "{bad:?}");
    }
    let err = AuthenticationResults::parse("example.com; spf=pass smtp.mailfrom").unwrap_err();
    assert!(
        err.to_string().starts_with("Authentication-Results: "),
        "{err}"
    );
    let deep = format!("example.com; spf=pass {}", "(".repeat(40));
    assert!(matches!(
        AuthenticationResults::parse(&deep),
        Err(AuthresError::CommentDepth(_))
    ));
}

#[test]
fn the_claimed_authserv_id_is_found_even_in_a_broken_field() {
    assert_eq!(
        AuthenticationResults::claimed_authserv_id("mx.example.net; spf=pass (unclosed"),
        Some("mx.example.net".into())
    );
    assert_eq!(
        AuthenticationResults::claimed_authserv_id(" \"mx.example.net\"; none"),
        Some("mx.example.net".into())
    );
    assert_eq!(AuthenticationResults::claimed_authserv_id(";"), None);
}

#[test]
fn remote_values_cannot_break_out_of_the_field() {
    let hostile = [
        "evil.example\r\nX-Injected: yes",
        "a\"b\\c",
        "(x) ; dkim=pass",
        "close) (open",
        "\n\r\t\u{0}",
    ];
    for value in hostile {
        let field = AuthenticationResults {
            authserv_id: value.into(),
            version: None,
            results: vec![
                MethodResult::new("spf", "pass")
                    .comment(value)
                    .reason(value)
                    .property("smtp", "helo", value),
            ],
        };
        let text = field.to_string();
        // The only line breaks are our folds, each followed by a TAB.
        assert_eq!(text.matches('\n').count(), 1, "{text:?}");
        assert!(text.contains(";\r\n\tspf=pass"), "{text:?}");
        assert!(
            !text.replace("\r\n\t", "").chars().any(char::is_control),
            "{text:?}"
        );
        let read = AuthenticationResults::parse(&text.replace("\r\n", "")).unwrap();
        assert_eq!(read.results.len(), 1, "{text:?}");
        let clean: String = value
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        assert_eq!(read.authserv_id, clean);
        assert_eq!(read.results[0].comment.as_deref(), Some(clean.as_str()));
        assert_eq!(read.results[0].reason.as_deref(), Some(clean.as_str()));
        assert_eq!(read.results[0].properties[0].value, clean);
    }
}
