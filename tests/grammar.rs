//! The NetScaler grammar on its tricky cases: keys with spaces, ` - ` inside quotes, empty
//! values, CEF escapes, degraded separators, IPv6 with a port, CRLF and trailing spaces.

use xdrmap::syntax::{strip_line_ending, Grammar, Name, NetScaler, Token};
use xdrmap::value::net::split_ip_port;
use xdrmap::value::text::unescape;

mod common;

const HEADER: &str = "<134> 07/08/2024:01:31:08 GMT ns1 0-PPE-0 : default TCP CONN_TERMINATE 111222444 0 :  ";

/// The line's tokens as (name, unescaped value); grammar fields are named `@field`.
fn tokens(line: &str) -> Vec<(String, String)> {
    let g = NetScaler;
    let mut out: Vec<Token<'_>> = Vec::new();
    g.tokenize(line, &mut out).unwrap_or_else(|e| panic!("{e}: {line}"));
    out.iter()
        .map(|t| {
            let name = match t.name {
                Name::Field(id) => format!("@{}", g.fields()[id as usize]),
                Name::Key(k) => k.to_string(),
            };
            (name, unescape(t.value, t.escape).into_owned())
        })
        .collect()
}

fn get(tokens: &[(String, String)], name: &str) -> Option<String> {
    tokens.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
}

#[test]
fn header_fields() {
    let t = tokens(&format!("{HEADER}Source 10.0.0.1:80 - Destination 10.0.0.2:443"));
    assert_eq!(get(&t, "@pri").as_deref(), Some("134"));
    assert_eq!(get(&t, "@timestamp").as_deref(), Some("07/08/2024:01:31:08 GMT"));
    assert_eq!(get(&t, "@host").as_deref(), Some("ns1"));
    assert_eq!(get(&t, "@ppe").as_deref(), Some("0-PPE-0"));
    assert_eq!(get(&t, "@partition").as_deref(), Some("default"));
    assert_eq!(get(&t, "@module").as_deref(), Some("TCP"));
    assert_eq!(get(&t, "@event").as_deref(), Some("CONN_TERMINATE"));
    assert_eq!(get(&t, "@seq").as_deref(), Some("111222444"));
}

#[test]
fn keys_with_spaces() {
    let t = tokens(&format!(
        "{HEADER}Source 10.0.0.1:80 - Start Time 07/08/2024:01:30:28 GMT - End Time 07/08/2024:01:31:08 GMT - Total_bytes_send 1"
    ));
    assert_eq!(get(&t, "Start Time").as_deref(), Some("07/08/2024:01:30:28 GMT"));
    assert_eq!(get(&t, "End Time").as_deref(), Some("07/08/2024:01:31:08 GMT"));
    assert_eq!(get(&t, "Total_bytes_send").as_deref(), Some("1"));
}

#[test]
fn dash_inside_quotes_and_nested_quotes() {
    let t = tokens(&format!(
        "{HEADER}User a - Command \"rm ssl certKey old-cert - confirm\" - Status \"ERROR: Operation not permitted - partition mismatch\""
    ));
    assert_eq!(get(&t, "Command").as_deref(), Some("rm ssl certKey old-cert - confirm"));
    assert_eq!(get(&t, "Status").as_deref(), Some("ERROR: Operation not permitted - partition mismatch"));
    let t = tokens(&format!("{HEADER}User a - Command \"login a \"********\"\" - Status \"Success\""));
    assert_eq!(get(&t, "Command").as_deref(), Some("login a \"********\""));
    assert_eq!(get(&t, "Status").as_deref(), Some("Success"));
}

#[test]
fn backslash_escaped_quotes() {
    let t =
        tokens(&format!("{HEADER}Nat_ip \\\"Mapped Ip\\\" - Vserver 10.0.0.1:443 - Browser_type \"a \\\"b\\\" c\""));
    assert_eq!(get(&t, "Nat_ip").as_deref(), Some("Mapped Ip"));
    assert_eq!(get(&t, "Vserver").as_deref(), Some("10.0.0.1:443"));
    assert_eq!(get(&t, "Browser_type").as_deref(), Some("a \"b\" c"));
}

#[test]
fn empty_values_and_key_colons() {
    let t = tokens(&format!(
        "{HEADER}Source 10.0.0.1:5000 - customername  - username:domainname bob: - Client_ip  - X-Forwarded-For_ip - SessionId: 77"
    ));
    assert_eq!(get(&t, "customername").as_deref(), Some(""));
    assert_eq!(get(&t, "username:domainname").as_deref(), Some("bob:"));
    assert_eq!(get(&t, "Client_ip").as_deref(), Some(""));
    assert_eq!(get(&t, "X-Forwarded-For_ip").as_deref(), Some(""));
    assert_eq!(get(&t, "SessionId").as_deref(), Some("77"), "the key's colon is not part of the key");
}

#[test]
fn degraded_separators() {
    let t = tokens(&format!(
        "{HEADER}Context u@10.0.0.9 - SessionId: 15- User u - Client_ip 10.0.0.9- Nat_ip \"Mapped Ip\""
    ));
    assert_eq!(get(&t, "SessionId").as_deref(), Some("15"));
    assert_eq!(get(&t, "User").as_deref(), Some("u"));
    assert_eq!(get(&t, "Client_ip").as_deref(), Some("10.0.0.9"));
    let t = tokens(&format!("{HEADER}Delink Time 07/07/2024:19:25:29  Total_bytes_send 963 - Total_bytes_recv 5238"));
    assert_eq!(get(&t, "Delink Time").as_deref(), Some("07/07/2024:19:25:29"));
    assert_eq!(get(&t, "Total_bytes_send").as_deref(), Some("963"));
}

#[test]
fn cef_escapes() {
    let line = "<134> CEF:0|Citrix|NetScaler|NS13.1\\|b7|APPFW|APPFW_STARTURL|6|src=10.1.1.1 spt=4000 \
                request=http://h/p?a\\=b&c=d msg=two  words\\\\ cn1=7 act=not blocked";
    let t = tokens(line);
    assert_eq!(get(&t, "@cef_device_version").as_deref(), Some("NS13.1|b7"));
    assert_eq!(get(&t, "request").as_deref(), Some("http://h/p?a=b&c=d"), "escaped and raw '=' both stay in the value");
    assert_eq!(get(&t, "msg").as_deref(), Some("two  words\\"));
    assert_eq!(get(&t, "act").as_deref(), Some("not blocked"), "values run to the next ` key=`");
}

#[test]
fn ipv6_with_port() {
    assert_eq!(split_ip_port("2001:db8::1"), ("2001:db8::1", None));
    assert_eq!(split_ip_port("[2001:db8::1]:443"), ("2001:db8::1", Some("443")));
    assert_eq!(
        split_ip_port("a1b2:c3d4:e5f6:a7b8:c9d0:e1f2:a3b4:c5d6:123"),
        ("a1b2:c3d4:e5f6:a7b8:c9d0:e1f2:a3b4:c5d6", Some("123"))
    );
    assert_eq!(split_ip_port("10.0.0.1:80"), ("10.0.0.1", Some("80")));
    let t = tokens(&format!("{HEADER}Vserver a1b2:c3d4:e5f6:a7b8:c9d0:e1f2:a3b4:c5d6:123 - State UP"));
    assert_eq!(get(&t, "Vserver").as_deref(), Some("a1b2:c3d4:e5f6:a7b8:c9d0:e1f2:a3b4:c5d6:123"));
}

#[test]
fn crlf_and_trailing_spaces() {
    let plain = format!("{HEADER}Source 10.0.0.1:80 - Total_bytes_recv 1");
    let crlf = format!("{plain}\r\n");
    let spaces = format!("{plain}   ");
    assert_eq!(tokens(strip_line_ending(&crlf)), tokens(&plain));
    assert_eq!(tokens(&spaces), tokens(&plain));
}

#[test]
fn header_variants() {
    let body = "User u - Remote_ip 10.0.0.5 - Command \"show ns ip\" - Status \"Success\"";
    let cases = [
        (format!("<134>07/08/2024:01:31:08 GMT ns1 0-PPE-0 : default GUI CMD_EXECUTED 5 0 : {body}"), Some("ns1")),
        (format!("07/08/2024:01:31:08  ns1 0-PPE-0 : default GUI CMD_EXECUTED 5 0 : {body}"), Some("ns1")),
        (format!("<134> 07/08/2024:01:31:08 GMT  0-PPE-6 : default GUI CMD_EXECUTED 5 0 : {body}"), None),
        (format!("Mar 14 08:21:07 <local0.info> 10.1.1.1  03/14/2023:08:21:07 GMT ns1 0-PPE-0 : GUI CMD_EXECUTED 5 0 : {body}"), Some("ns1")),
        (format!("<134>1 2025-02-11T06:41:09Z ns1 GUI 0-PPE-0 - - default CMD_EXECUTED 5 0 : {body}"), Some("ns1")),
        (format!("02/14/2012: 14:32:35 GMT ns1 PPE-1 : UI CMD_EXECUTED 427 :  {body}"), Some("ns1")),
        (format!("<135> default CMD_EXECUTED 4123456 0 :  {body}"), None),
    ];
    for (line, host) in cases {
        let t = tokens(&line);
        assert_eq!(get(&t, "@host").as_deref(), host, "{line}");
        assert_eq!(get(&t, "@event").as_deref(), Some("CMD_EXECUTED"), "{line}");
        assert_eq!(get(&t, "Command").as_deref(), Some("show ns ip"), "{line}");
    }
}

#[test]
fn event_name_with_a_space() {
    let t = tokens(
        "<134> 06/22/2025:19:14:37 GMT ns 0-PPE-1 : default APPFW APPFW_cross-site scripting 60 0 : \
         10.1.2.3 616-PPE1 - pr_ffc http://h/x Cross-site script check failed <blocked>",
    );
    assert_eq!(get(&t, "@event").as_deref(), Some("APPFW_cross-site scripting"));
    assert_eq!(get(&t, "@client_ip").as_deref(), Some("10.1.2.3"));
    assert_eq!(get(&t, "@appfw_action").as_deref(), Some("blocked"));
}

#[test]
fn not_netscaler_is_an_error_with_a_column() {
    let mut out = Vec::new();
    let err = NetScaler.tokenize("<78>Mar  3 04:05:06 backup-host cron[311]: job done", &mut out);
    let err = err.expect_err("another host's cron line is not a NetScaler message");
    assert!(err.column > 1, "{err}");
}

/// The management plane's own daemons log in RFC 5424 with their program as APP-NAME: the
/// program, process id and text are fields (they used to be rejected).
#[test]
fn management_plane_syslog_is_read() {
    let out = tokens("<173>1 2025-01-30T12:00:00Z HOST newsyslog 79382 - - logfile turned over");
    assert_eq!(get(&out, "@program").as_deref(), Some("newsyslog"));
    assert_eq!(get(&out, "@procid").as_deref(), Some("79382"));
    assert_eq!(get(&out, "@text").as_deref(), Some("logfile turned over"));
    assert_eq!(get(&out, "@host").as_deref(), Some("HOST"));
}

/// Every line the repository and the shared corpus hold, plus broken ones: the batch
/// tokenizer must give each line exactly what the line-by-line tokenizer gives it.
fn every_known_line() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut lines = Vec::new();
    lines.extend(common::case_lines());
    let sample = std::fs::read_to_string(root.join("mappings/citrix_loadbalancer/sample.log")).unwrap();
    lines.extend(sample.lines().map(String::from));
    if let Ok(corpus) = std::fs::read_to_string(root.join("../shared/corpus/ALL-unique-lines.log.txt")) {
        lines.extend(corpus.lines().map(String::from));
    }
    for broken in [
        "",
        "   ",
        "\u{feff}<134> 07/08/2024:01:31:08 GMT ns1 0-PPE-0 : default TCP CONN_TERMINATE 1 0 :  Source 10.0.0.1:80",
        &format!("{HEADER}Source 10.0.0.1:80 - Destination 10.0.0.2:443\r"),
        &format!("{HEADER}User a - Command \"unclosed - Status \"x\\"),
        &format!("{HEADER}User a\\"),
        "CEF:0|Citrix|NetScaler|NS13.0|APPFW|APPFW_SQL|6|src=1.2.3.4 msg=ends in a backslash\\",
        "garbage",
        "<134>",
    ] {
        lines.push(broken.to_string());
    }
    lines
}

#[test]
fn a_batch_tokenizes_each_line_as_the_line_alone() {
    let lines = every_known_line();
    assert!(lines.len() > 150, "{} lines", lines.len());
    // Forwards and backwards, so that each line has other neighbours; with and without a final newline.
    let mut reversed = lines.clone();
    reversed.reverse();
    for (order, final_newline) in [(&lines, true), (&reversed, false)] {
        let mut text = order.join("\n");
        if final_newline {
            text.push('\n');
        }
        let g = NetScaler;
        let (mut out, mut spans) = (Vec::new(), Vec::new());
        g.tokenize_lines(&text, &mut out, &mut spans);
        assert_eq!(spans.len(), order.len());
        let mut alone = Vec::new();
        for (line, span) in order.iter().zip(&spans) {
            assert_eq!(&text[span.text.clone()], line.as_str());
            let fits = g.tokenize(line, &mut alone).is_ok();
            let needs_cleaning = line.ends_with('\r') || line.starts_with('\u{feff}');
            match &span.tokens {
                Some(range) => assert!(fits && out[range.clone()] == alone[..], "batch differs on: {line}"),
                None => assert!(!fits || needs_cleaning, "batch gave up on a line that fits: {line}"),
            }
        }
    }
}

/// `pairs_fast` is a shortcut: on every known line the grammar must give the tokens it gives
/// without it. The grammar without the shortcut is loaded at run time (pest_vm).
#[test]
fn the_fast_pairs_rule_reads_what_pairs_reads() {
    use xdrmap::syntax::pest_file::PestFile;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("grammar/netscaler.pest")).unwrap();
    let general = text.replace("pairs_fast | pairs", "pairs");
    assert_ne!(general, text, "the body rule no longer offers pairs_fast before pairs");
    let dir = common::Scratch::new("general-grammar");
    let path = dir.join("netscaler_general.pest");
    std::fs::write(&path, general).unwrap();
    let (vm, problems) = PestFile::load(&path, &xdrmap::limits::Limits::default());
    let vm = vm.unwrap_or_else(|| panic!("{problems:?}"));
    let named = |g: &dyn Grammar, line: &str| -> Option<Vec<(String, String, usize)>> {
        let mut out = Vec::new();
        g.tokenize(line, &mut out).ok()?;
        Some(
            out.iter()
                .map(|t| {
                    let name = match t.name {
                        Name::Field(id) => format!("@{}", g.fields()[id as usize]),
                        Name::Key(k) => k.to_string(),
                    };
                    (name, t.value.to_string(), t.start)
                })
                .collect(),
        )
    };
    let lines = every_known_line();
    let mut fast_lines = 0;
    for line in &lines {
        let compiled = named(&NetScaler, line);
        assert_eq!(compiled, named(&vm, line), "{line}");
        fast_lines += usize::from(compiled.is_some_and(|t| t.iter().any(|(n, _, _)| !n.starts_with('@'))));
    }
    assert!(fast_lines > 100, "only {fast_lines} lines with pairs");
}

/// pest's `PEEK` and `POP` panic on an empty stack; a grammar file's fail instead, and match
/// what they always matched when something was pushed (found by the grammar fuzz target).
#[test]
fn stack_operations_on_an_empty_stack_fail_the_line_not_the_process() {
    use xdrmap::syntax::pest_file::PestFile;
    let load = |text: &str| {
        let (grammar, problems) = PestFile::from_text("stack.pest", text, &xdrmap::limits::Limits::default());
        grammar.unwrap_or_else(|| panic!("{problems:?}"))
    };
    let fits = |g: &PestFile, line: &str| g.tokenize(line, &mut Vec::new()).is_ok();
    let word = "word = @{ ASCII_ALPHA+ }\n";
    let pushed = load(&format!("line = {{ PUSH(word) ~ \" \" ~ POP ~ \" \" ~ PEEK_ALL }}\n{word}"));
    assert!(fits(&pushed, "ab ab "), "POP matches what was pushed");
    assert!(!fits(&pushed, "ab cd "), "POP refuses anything else");
    let peeked = load(&format!("line = {{ PUSH(word) ~ \" \" ~ PEEK ~ \" \" ~ POP }}\n{word}"));
    assert!(fits(&peeked, "ab ab ab"));
    assert!(!fits(&peeked, "ab ab cd"));
    for empty in ["line = { word ~ PEEK }", "line = { word ~ POP }", "line = { word ~ (POP | \"!\") }"] {
        let g = load(&format!("{empty}\n{word}"));
        assert!(!fits(&g, "ab"), "{empty}: nothing was pushed");
    }
    let g = load(&format!("line = {{ word ~ (POP | \"!\") }}\n{word}"));
    assert!(fits(&g, "ab!"), "a failed POP lets the next choice try");
}
