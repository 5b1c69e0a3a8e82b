//! The examples of RFC 6609 (include): personal and global scripts,
//! `:once`, `:optional`, `return`, global variables, and loops refused.

mod common;

use common::{COYOTE, Case, Scripts, fileinto, keep, message};
use postino_sieve::Location;

#[test]
fn includes_run_in_order() {
    let script = r#"require ["include"];

include :personal "always_allow";
include :global "spam_tests";
include :personal "spam_tests";
include :personal "mailing_lists";"#;
    let scripts = Scripts::default()
        .with(
            Location::Personal,
            "always_allow",
            "if address :is \"from\" \"boss@example.com\" { keep; stop; }",
        )
        .with(
            Location::Global,
            "spam_tests",
            "require \"fileinto\";\nif exists \"x-spam-flag\" { fileinto \"Spam\"; stop; }",
        )
        .with(
            Location::Personal,
            "spam_tests",
            "require \"fileinto\";\nif header :contains \"subject\" \"viagra\" { fileinto \"Spam\"; stop; }",
        )
        .with(
            Location::Personal,
            "mailing_lists",
            "require \"fileinto\";\nif exists \"list-id\" { fileinto \"Lists\"; }",
        );
    let run = |message: &str| {
        let mut case = Case::new(script, message);
        case.includes = Scripts(scripts.0.clone());
        case.actions()
    };
    assert_eq!(
        run(&message(&["From: boss@example.com", "X-Spam-Flag: YES"])),
        vec![keep()]
    );
    assert_eq!(
        run(&message(&["X-Spam-Flag: YES", "List-Id: <l.example>"])),
        vec![fileinto("Spam")]
    );
    assert_eq!(
        run(&message(&["Subject: cheap VIAGRA"])),
        vec![fileinto("Spam")]
    );
    assert_eq!(
        run(&message(&["List-Id: <l.example>"])),
        vec![fileinto("Lists")]
    );
    assert_eq!(run(COYOTE), vec![keep()]);
}

#[test]
fn global_variables_are_shared() {
    let script = r#"require ["variables", "include"];
global "test";
global "test_mailbox";

set "test" "$$";
include "subject_tests";

set "test" "Make money";
include "subject_tests";"#;
    let subject_tests = r#"require ["variables", "include", "fileinto"];
global ["test", "test_mailbox"];

if header :contains "Subject" "${test}"
{
    set "test_mailbox" "spam-${test}";
    fileinto "${test_mailbox}";
    stop;
}"#;
    let run = |message: &str| {
        let mut case = Case::new(script, message);
        case.includes = Scripts::default().with(Location::Personal, "subject_tests", subject_tests);
        case.actions()
    };
    assert_eq!(
        run(&message(&["Subject: win $$ today"])),
        vec![fileinto("spam-$$")]
    );
    assert_eq!(
        run(&message(&["Subject: make MONEY fast"])),
        vec![fileinto("spam-Make money")]
    );
    assert_eq!(run(COYOTE), vec![keep()]);
}

#[test]
fn local_variables_stay_local() {
    let script = "require [\"variables\", \"include\", \"fileinto\"];\nset \"x\" \"outer\";\ninclude \"inner\";\nfileinto \"${x}\";";
    let inner = "require \"variables\";\nset \"x\" \"inner\";";
    let mut case = Case::new(script, COYOTE);
    case.includes = Scripts::default().with(Location::Personal, "inner", inner);
    assert_eq!(case.actions(), vec![fileinto("outer")]);
}

#[test]
fn once_optional_and_return() {
    let script = r#"require ["include", "fileinto"];
include :once "count";
include :once "count";
include :optional "missing";
include "returns";
fileinto "end";"#;
    let scripts = Scripts::default()
        .with(
            Location::Personal,
            "count",
            "require [\"imap4flags\"];\naddflag \"$Seen1\";\naddflag \"$Seen2\";",
        )
        .with(
            Location::Personal,
            "returns",
            "require [\"include\", \"fileinto\"];\nif true { return; }\nfileinto \"not-reached\";",
        );
    let mut case = Case::new(script, COYOTE);
    case.includes = scripts;
    assert_eq!(
        case.actions(),
        vec![common::fileinto_flags("end", &["$Seen1", "$Seen2"])]
    );
}

#[test]
fn missing_script_fails_at_run_time() {
    let case = Case::new(
        "require \"include\";\ninclude \"nowhere\";\ndiscard;",
        COYOTE,
    );
    let outcome = case.run();
    assert_eq!(outcome.actions, vec![keep()]);
    assert!(outcome.error.expect("error").contains("nowhere"));
}

#[test]
fn loops_are_refused_at_compile_time() {
    let mut case = Case::new("require \"include\";\n\ninclude \"a\";", COYOTE);
    case.includes = Scripts::default()
        .with(
            Location::Personal,
            "a",
            "require \"include\";\ninclude \"b\";",
        )
        .with(
            Location::Personal,
            "b",
            "require \"include\";\ninclude :optional \"a\";",
        );
    let e = case.compile().expect_err("loop");
    assert_eq!((e.line, e.column), (3, 1));
    assert!(e.message.contains("includes itself"), "{e}");
    // The same script included twice without a loop is fine.
    case.script = "require \"include\";\ninclude \"c\";\ninclude \"c\";";
    case.includes = Scripts::default().with(Location::Personal, "c", "keep;");
    assert_eq!(case.actions(), vec![keep()]);
}

#[test]
fn errors_inside_included_scripts_name_them() {
    let mut case = Case::new("require \"include\";\ninclude :global \"bad\";", COYOTE);
    case.includes = Scripts::default().with(Location::Global, "bad", "keep;\nfrobnicate;");
    let e = case.compile().expect_err("bad include");
    assert_eq!((e.line, e.column), (2, 1));
    assert!(
        e.message
            .contains("\"bad\": line 2, column 1: unknown command \"frobnicate\""),
        "{e}"
    );
}

#[test]
fn include_depth_is_bounded() {
    let mut scripts = Scripts::default();
    for n in 0..10 {
        scripts = scripts.with(
            Location::Personal,
            &format!("s{n}"),
            &format!("require \"include\";\ninclude \"s{}\";", n + 1),
        );
    }
    scripts = scripts.with(Location::Personal, "s10", "keep;");
    let mut case = Case::new("require \"include\";\ninclude \"s0\";", COYOTE);
    case.includes = scripts;
    let e = case.compile().expect_err("too deep");
    assert!(e.message.contains("deeper than 5"), "{e}");
    case.limits.max_include_depth = 20;
    assert_eq!(case.actions(), vec![keep()]);
}

#[test]
fn global_namespace() {
    let script = r#"require ["variables", "include", "fileinto"];
set "global.i_am_on_vacation" "1";
include "check";
fileinto "${global.folder}";"#;
    let check = r#"require ["variables", "include"];
if string :is "${global.I_AM_ON_VACATION}" "1" {
    set "global.folder" "Away";
}"#;
    let mut case = Case::new(script, COYOTE);
    case.includes = Scripts::default().with(Location::Personal, "check", check);
    assert_eq!(case.actions(), vec![fileinto("Away")]);
    // Without include the namespace does not exist.
    let e = common::compile_error("require \"variables\";\nset \"global.x\" \"1\";");
    assert_eq!((e.line, e.column), (2, 5));
    assert!(e.message.contains("namespace"), "{e}");
}
