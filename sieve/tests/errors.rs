//! Scripts refused at upload, each with the line and column of the fault,
//! and the limits that bound compilation and runs.

mod common;

use common::{COYOTE, Case, compile_error, keep};

/// (script, line, column, part of the message)
const REFUSED: &[(&str, u32, u32, &str)] = &[
    ("keep", 1, 5, "unexpected end of script"),
    ("frobnicate;", 1, 1, "unknown command \"frobnicate\""),
    (
        "keep;\n  fileinto \"x\";",
        2,
        3,
        "fileinto needs require \"fileinto\"",
    ),
    (
        "require \"fileinto\";\nfileinto;",
        2,
        1,
        "fileinto takes 1 positional arguments, 0 given",
    ),
    (
        "require \"fileinto\";\nfileinto \"a\" \"b\";",
        2,
        1,
        "fileinto takes 1 positional arguments, 2 given",
    ),
    (
        "require \"fileinto\";\nfileinto [\"a\", \"b\"];",
        2,
        10,
        "fileinto expects a string here",
    ),
    (
        "require \"frobnicate\";",
        1,
        9,
        "unsupported extension \"frobnicate\"",
    ),
    (
        "keep;\nrequire \"fileinto\";",
        2,
        1,
        "require must come before any other command",
    ),
    (
        "if true { require \"fileinto\"; }",
        1,
        11,
        "require must come before any other command",
    ),
    (
        "if header :contains :is \"a\" \"b\" { keep; }",
        1,
        21,
        "only one match type",
    ),
    (
        "if header :frob \"a\" \"b\" { keep; }",
        1,
        11,
        "unknown tagged argument \":frob\" for header",
    ),
    (
        "if header :comparator \"i;frob\" \"a\" \"b\" { keep; }",
        1,
        23,
        "unknown comparator \"i;frob\"",
    ),
    (
        "if header :comparator \"i;ascii-numeric\" \"a\" \"b\" { keep; }",
        1,
        23,
        "needs require \"comparator-i;ascii-numeric\"",
    ),
    (
        "require \"comparator-i;ascii-numeric\";\nif header :contains :comparator \"i;ascii-numeric\" \"a\" \"1\" { keep; }",
        2,
        21,
        "i;ascii-numeric cannot be used with :contains",
    ),
    (
        "if header :value \"gt\" \"a\" \"b\" { keep; }",
        1,
        11,
        "needs require \"relational\"",
    ),
    (
        "require \"relational\";\nif header :count \"more\" \"a\" \"1\" { keep; }",
        2,
        18,
        "unknown relation",
    ),
    ("if frob { keep; }", 1, 4, "unknown test \"frob\""),
    (
        "if (true, false) { keep; }",
        1,
        1,
        "if needs exactly one test",
    ),
    ("if true keep;", 1, 9, "true takes no test"),
    ("if true { keep; ", 1, 17, "unexpected end of script"),
    ("if true;", 1, 1, "if needs a block"),
    ("elsif true { keep; }", 1, 1, "elsif without a preceding if"),
    (
        "if true { keep; } else { keep; } else { keep; }",
        1,
        34,
        "else without a preceding if",
    ),
    ("keep { discard; }", 1, 1, "keep takes no block"),
    (
        "stop \"now\";",
        1,
        1,
        "stop takes 0 positional arguments, 1 given",
    ),
    ("if size 100 { keep; }", 1, 4, "size needs :over or :under"),
    (
        "if size :over \"100\" { keep; }",
        1,
        15,
        "size expects a number here",
    ),
    (
        "if address :user \"to\" \"x\" { keep; }",
        1,
        12,
        "needs require \"subaddress\"",
    ),
    (
        "if header :localpart \"to\" \"x\" { keep; }",
        1,
        11,
        "unknown tagged argument \":localpart\"",
    ),
    (
        "if exists \"bad:name\" { keep; }",
        1,
        11,
        "not a valid header name",
    ),
    (
        "require \"envelope\";\nif envelope \"cc\" \"x\" { keep; }",
        2,
        13,
        "unknown envelope part \"cc\"",
    ),
    (
        "redirect \"not an address\";",
        1,
        10,
        "not a valid redirect address",
    ),
    (
        "require \"fileinto\";\nfileinto \"\";",
        2,
        10,
        "the mailbox name is empty",
    ),
    (
        "if not (true) { keep; }",
        1,
        4,
        "not needs exactly one test",
    ),
    ("if allof { keep; }", 1, 4, "allof needs a list of tests"),
    (
        "require \"date\";\nif date \"date\" \"century\" \"x\" { keep; }",
        2,
        16,
        "unknown date part \"century\"",
    ),
    (
        "require \"date\";\nif date :zone \"CET\" \"date\" \"year\" \"x\" { keep; }",
        2,
        15,
        "is not a zone",
    ),
    (
        "require \"date\";\nif currentdate :originalzone \"year\" \"x\" { keep; }",
        2,
        16,
        ":originalzone is only for the date test",
    ),
    (
        "require \"index\";\nif header :last \"a\" \"b\" { keep; }",
        2,
        11,
        ":last needs :index",
    ),
    (
        "require \"index\";\nif header :index 0 \"a\" \"b\" { keep; }",
        2,
        11,
        ":index counts from 1",
    ),
    (
        "if header :index 1 \"a\" \"b\" { keep; }",
        1,
        11,
        "needs require \"index\"",
    ),
    (
        "require \"body\";\nif body :raw :text \"x\" { keep; }",
        2,
        14,
        "only one of :raw, :content and :text",
    ),
    (
        "require \"include\";\ninclude \"a/b\";",
        2,
        9,
        "not a valid script name",
    ),
    ("return;", 1, 1, "return needs require \"include\""),
    (
        "require \"include\";\nglobal \"x\";",
        2,
        1,
        "global needs require \"variables\"",
    ),
    (
        "require \"vacation\";\nvacation :days \"7\" \"x\";",
        2,
        10,
        ":days must be followed by a number",
    ),
    (
        "if header \"a\" \"b\" { keep; } /* never closed",
        1,
        29,
        "unterminated \"/*\" comment",
    ),
    ("fileinto \"unterminated;\n", 1, 10, "unterminated string"),
    (
        "if size :over 99999999999999999999 { keep; }",
        1,
        15,
        "is too large",
    ),
    (
        "if address :is [\"from\", \"subject\"] \"a@b.example\" { keep; }",
        1,
        16,
        "header \"subject\" holds no addresses",
    ),
];

#[test]
fn refused_scripts_name_line_and_column() {
    for &(script, line, column, message) in REFUSED {
        let e = compile_error(script);
        assert_eq!((e.line, e.column), (line, column), "{script:?}: {e}");
        assert!(e.message.contains(message), "{script:?}: {e}");
    }
}

#[test]
fn error_display_names_the_position() {
    let e = compile_error("keep;\n\n   frob;");
    assert_eq!(e.to_string(), "line 3, column 4: unknown command \"frob\"");
}

#[test]
fn identifiers_and_tags_are_case_insensitive() {
    let script = "REQUIRE \"FileInto\";\nIF Header :Contains \"SUBJECT\" \"present\" { FileInto \"x\"; } ELSE { Keep; }";
    assert_eq!(common::actions(script, COYOTE), vec![common::fileinto("x")]);
}

#[test]
fn script_size_is_bounded() {
    let script = format!("# {}\nkeep;", "x".repeat(70 * 1024));
    let e = compile_error(&script);
    assert!(e.message.contains("more than the limit"), "{e}");
}

#[test]
fn nesting_is_bounded() {
    let deep = format!("{}keep;{}", "if true {".repeat(40), "}".repeat(40));
    let e = compile_error(&deep);
    assert!(e.message.contains("nesting deeper than 32"), "{e}");
    let deep = format!("if {}true {{ keep; }}", "not ".repeat(40));
    assert!(compile_error(&deep).message.contains("nesting"));
    let deep = format!(
        "if {}true{} {{ keep; }}",
        "anyof(".repeat(40),
        ")".repeat(40)
    );
    assert!(compile_error(&deep).message.contains("nesting"));
}

#[test]
fn steps_are_bounded() {
    // The test compares every header with every key: 400 × 300 steps.
    let keys = (0..400)
        .map(|n| format!("\"k{n}\""))
        .collect::<Vec<_>>()
        .join(",");
    let headers = (0..300).map(|n| format!("X-H: v{n}")).collect::<Vec<_>>();
    let message = common::message(&headers.iter().map(String::as_str).collect::<Vec<_>>());
    let script = format!("if header :is \"x-h\" [{keys}] {{ discard; }}\ndiscard;");
    let mut case = Case::new(&script, &message);
    let outcome = case.run();
    assert_eq!(outcome.actions, vec![keep()]);
    assert!(outcome.error.expect("error").contains("steps"));
    case.limits.max_steps = 1_000_000;
    assert_eq!(case.actions(), vec![]);
}

#[test]
fn actions_and_redirects_are_bounded() {
    let redirects = (0..5)
        .map(|n| format!("redirect \"r{n}@example.com\";"))
        .collect::<String>();
    let outcome = Case::new(&redirects, COYOTE).run();
    assert_eq!(outcome.actions, vec![keep()]);
    assert!(
        outcome
            .error
            .expect("error")
            .contains("more than 4 redirects")
    );
    let files = (0..40)
        .map(|n| format!("fileinto \"f{n}\";"))
        .collect::<String>();
    let script = format!("require \"fileinto\";\n{files}");
    let outcome = Case::new(&script, COYOTE).run();
    assert_eq!(outcome.actions, vec![keep()]);
    assert!(
        outcome
            .error
            .expect("error")
            .contains("more than 32 actions")
    );
}

#[test]
fn bad_runtime_redirect_is_an_error() {
    let script = "require \"variables\";\nset \"to\" \"nobody\";\nredirect \"${to}\";";
    let outcome = Case::new(script, COYOTE).run();
    assert_eq!(outcome.actions, vec![keep()]);
    assert!(outcome.error.expect("error").contains("\"nobody\""));
    let script = "require [\"variables\", \"fileinto\"];\nfileinto \"${none}\";";
    let outcome = Case::new(script, COYOTE).run();
    assert_eq!(outcome.actions, vec![keep()]);
    assert_eq!(
        outcome.error.as_deref(),
        Some("line 2: the mailbox name is empty")
    );
}

#[test]
fn expansion_of_variables_is_bounded() {
    // 200 references to a 4 KiB variable add at most 4 KiB to the string.
    let script = format!(
        "require [\"variables\", \"reject\"];\nset \"a\" \"{}\";\nreject \"<{}>\";",
        "x".repeat(4096),
        "${a}".repeat(200)
    );
    let found = common::actions(&script, COYOTE);
    let [postino_sieve::Action::Reject { reason, .. }] = found.as_slice() else {
        panic!("one reject expected: {found:?}");
    };
    assert_eq!(reason.len(), 4096 + 2);
}

#[test]
fn long_bodies_cost_steps() {
    let body = format!("Subject: big\r\n\r\n{}\r\n", "a".repeat(4 << 20));
    let keys = (0..40)
        .map(|n| format!("\"needle number {n}\""))
        .collect::<Vec<_>>()
        .join(",");
    let script = format!("require \"body\";\nif body :raw :contains [{keys}] {{ discard; }}");
    let outcome = Case::new(&script, &body).run();
    assert_eq!(outcome.actions, vec![keep()]);
    assert!(outcome.error.expect("error").contains("steps"));
}

#[test]
fn runtime_errors_name_the_line() {
    let script =
        "require \"variables\";\nset \"to\" \"nobody\";\nif true {\n  redirect \"${to}\";\n}";
    let outcome = Case::new(script, COYOTE).run();
    assert_eq!(
        outcome.error.as_deref(),
        Some("line 4: \"nobody\" is not a valid redirect address")
    );
    let mut case = Case::new("require \"include\";\n\ninclude \"inner\";", COYOTE);
    case.includes = common::Scripts::default().with(
        postino_sieve::Location::Personal,
        "inner",
        "require \"vacation\";\nvacation \"a\";\nvacation \"b\";",
    );
    assert_eq!(
        case.run().error.as_deref(),
        Some("line 3: in included script \"inner\": line 3: vacation executed more than once")
    );
}

#[test]
fn scanning_many_header_fields_costs_steps() {
    let headers = vec!["X-A: b"; 20_000];
    let message = common::message(&headers);
    let names = (0..1500)
        .map(|n| format!("\"x-n{n}\""))
        .collect::<Vec<_>>()
        .join(",");
    let script = format!("if header :is [{names}] \"x\" {{ discard; }}");
    let outcome = Case::new(&script, &message).run();
    assert_eq!(outcome.actions, vec![keep()]);
    assert!(outcome.error.expect("error").contains("steps"));
}

/// A header name made by a variable is checked when the test runs: one
/// that holds no addresses matches nothing (RFC 5228 section 5.1).
#[test]
fn the_address_test_looks_only_at_address_fields() {
    let script = "require [\"variables\", \"fileinto\"];\n\
                  set \"field\" \"subject\";\n\
                  if address :contains \"${field}\" \"@\" { fileinto \"Strano\"; }\n\
                  if address :domain \"reply-to\" \"example.org\" { fileinto \"Risposte\"; }";
    let message =
        "From: a@example.com\r\nReply-To: b@example.org\r\nSubject: x@y.example\r\n\r\nbody\r\n";
    let outcome = Case::new(script, message).run();
    assert_eq!(outcome.error, None);
    assert_eq!(
        outcome.actions,
        [postino_sieve::Action::FileInto {
            mailbox: "Risposte".into(),
            flags: Vec::new(),
            create: false,
        }]
    );
}
