//! What publishing Postino as reusable public software needs (CAD art.
//! 68–69, AgID's guidelines on acquiring and reusing software): the
//! EUPL-1.2 text the workspace declares, a tree that passes `reuse lint`
//! (REUSE 3.3, through `REUSE.toml`), and a `publiccode.yml` that follows
//! the publiccode.yml standard.
//!
//! Developers Italia's validator (publiccode-parser-go) is a Go program
//! that no registry this project uses ships, so `publiccode.yml` is
//! checked here against the standard's mandatory keys and value formats.
//! `reuse` (GPL-3.0, a development tool the tests run, not linked into
//! Postino) and PyYAML, which reads the YAML for this test, come from PyPI
//! into `target/reuse-venv`, installed by `scripts/test`; without them
//! these tests are skipped with a note, or fail when `CI` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The publiccode.yml version the file follows: the standard's current.
const PUBLICCODE_VERSION: &str = "0.5";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The virtual environment with `reuse` and PyYAML, or `None` when the
/// test is to be skipped.
fn venv() -> Option<PathBuf> {
    let venv = root().join("target/reuse-venv/bin");
    if venv.join("reuse").is_file() {
        return Some(venv);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the publishing tests need reuse and PyYAML in {} (scripts/test installs them)",
        venv.display()
    );
    eprintln!(
        "skipping: reuse and PyYAML not installed in {} (scripts/test installs them)",
        venv.display()
    );
    None
}

#[test]
fn the_licence_is_the_eupl_the_workspace_declares() {
    let licence = std::fs::read(root().join("LICENSE")).expect("LICENSE");
    let reuse_copy = std::fs::read(root().join("LICENSES/EUPL-1.2.txt")).expect("the REUSE copy");
    assert!(licence.starts_with(b"EUROPEAN UNION PUBLIC LICENCE v. 1.2"));
    assert!(
        licence == reuse_copy,
        "LICENSES/EUPL-1.2.txt is not LICENSE"
    );
    assert_eq!(workspace_package("license"), "EUPL-1.2");
}

#[test]
fn the_tree_is_reuse_compliant() {
    let Some(venv) = venv() else {
        return;
    };
    let lint = Command::new(venv.join("reuse"))
        .arg("--root")
        .arg(root())
        .arg("lint")
        .output()
        .expect("run reuse lint");
    assert!(
        lint.status.success(),
        "reuse lint: {}\n{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
}

#[test]
fn publiccode_yml_follows_the_standard() {
    let Some(venv) = venv() else {
        return;
    };
    let read = Command::new(venv.join("python"))
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1], encoding='utf-8')), sys.stdout)",
        ])
        .arg(root().join("publiccode.yml"))
        .output()
        .expect("read publiccode.yml");
    assert!(
        read.status.success(),
        "publiccode.yml is not YAML: {}",
        String::from_utf8_lossy(&read.stderr)
    );
    let code: Value = serde_json::from_slice(&read.stdout).expect("JSON from PyYAML");
    let problems = check_publiccode(&code);
    assert!(
        problems.is_empty(),
        "publiccode.yml:\n{}",
        problems.join("\n")
    );
}

/// What in `code` breaks the standard, one line each: the mandatory keys,
/// their types, the enumerations and formats, and the values that must
/// agree with the workspace.
fn check_publiccode(code: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            problems.push(what.to_string());
        }
    };
    let known = [
        "publiccodeYmlVersion",
        "name",
        "applicationSuite",
        "url",
        "landingURL",
        "isBasedOn",
        "organizationUri",
        "softwareVersion",
        "releaseDate",
        "logo",
        "platforms",
        "categories",
        "usedBy",
        "roadmap",
        "developmentStatus",
        "softwareType",
        "intendedAudience",
        "description",
        "legal",
        "maintenance",
        "localisation",
        "dependsOn",
    ];
    for key in code.as_object().into_iter().flat_map(|o| o.keys()) {
        need(known.contains(&key.as_str()), &format!("unknown key {key}"));
    }
    need(
        code["publiccodeYmlVersion"] == PUBLICCODE_VERSION,
        "publiccodeYmlVersion is not the current version, as a string",
    );
    need(non_empty(&code["name"]), "name: a string");
    need(is_url(&code["url"]), "url: an http(s) URL");
    need(
        code["softwareVersion"] == workspace_package("version").as_str(),
        "softwareVersion: the workspace's version",
    );
    if !code["releaseDate"].is_null() {
        need(is_date(&code["releaseDate"]), "releaseDate: YYYY-MM-DD");
    }
    need(strings(&code["platforms"]), "platforms: a list of strings");
    need(
        strings(&code["categories"])
            && code["categories"]
                .as_array()
                .into_iter()
                .flatten()
                .all(is_tag),
        "categories: a list of tags",
    );
    need(
        one_of(
            &code["developmentStatus"],
            &["concept", "development", "beta", "stable", "obsolete"],
        ),
        "developmentStatus: one of the standard's",
    );
    need(
        one_of(
            &code["softwareType"],
            &[
                "standalone/mobile",
                "standalone/iot",
                "standalone/desktop",
                "standalone/web",
                "standalone/backend",
                "standalone/other",
                "addon",
                "library",
                "configurationFiles",
            ],
        ),
        "softwareType: one of the standard's",
    );
    let audience = &code["intendedAudience"];
    for key in ["countries", "scope"] {
        if !audience[key].is_null() {
            let ok = audience[key].as_array().into_iter().flatten().all(is_tag);
            need(ok, &format!("intendedAudience.{key}: a list of tags"));
        }
    }
    check_descriptions(&code["description"], &mut need);
    need(
        code["legal"]["license"] == workspace_package("license").as_str(),
        "legal.license: the workspace's licence",
    );
    check_maintenance(&code["maintenance"], &mut need);
    let localisation = &code["localisation"];
    need(
        localisation["localisationReady"].is_boolean(),
        "localisation.localisationReady: a boolean",
    );
    need(
        strings(&localisation["availableLanguages"]),
        "localisation.availableLanguages: a list of language tags",
    );
    for kind in ["open", "proprietary", "hardware"] {
        for dependency in code["dependsOn"][kind].as_array().into_iter().flatten() {
            need(
                non_empty(&dependency["name"]),
                &format!("dependsOn.{kind}: each with a name"),
            );
        }
    }
    problems
}

/// `description`: one section per language, each with its short
/// description; the long one and the features in at least one.
fn check_descriptions(description: &Value, need: &mut impl FnMut(bool, &str)) {
    let languages = description.as_object();
    need(
        languages.is_some_and(|l| !l.is_empty()),
        "description: at least one language",
    );
    let mut long = false;
    let mut features = false;
    for (lang, text) in languages.into_iter().flatten() {
        let short = text["shortDescription"].as_str().unwrap_or_default();
        need(
            !short.is_empty() && short.chars().count() <= 150,
            &format!("description.{lang}.shortDescription: up to 150 characters"),
        );
        if let Some(text) = text["longDescription"].as_str() {
            let chars = text.chars().count();
            need(
                (150..=10_000).contains(&chars),
                &format!("description.{lang}.longDescription: 150 to 10,000 characters"),
            );
            long = true;
        }
        features |= strings(&text["features"]);
        for key in ["documentation", "apiDocumentation"] {
            if !text[key].is_null() {
                need(
                    is_url(&text[key]),
                    &format!("description.{lang}.{key}: a URL"),
                );
            }
        }
    }
    need(long, "description: a longDescription in some language");
    need(features, "description: features in some language");
}

/// `maintenance`: its type, and the contacts or contractors it calls for.
fn check_maintenance(maintenance: &Value, need: &mut impl FnMut(bool, &str)) {
    let kind = &maintenance["type"];
    need(
        one_of(kind, &["internal", "contract", "community", "none"]),
        "maintenance.type: one of the standard's",
    );
    if kind == "internal" || kind == "community" {
        let contacts = maintenance["contacts"].as_array();
        need(
            contacts.is_some_and(|c| !c.is_empty() && c.iter().all(|c| non_empty(&c["name"]))),
            "maintenance.contacts: each with a name",
        );
    }
    if kind == "contract" {
        let contractors = maintenance["contractors"].as_array();
        need(
            contractors.is_some_and(|c| {
                !c.is_empty()
                    && c.iter()
                        .all(|c| non_empty(&c["name"]) && is_date(&c["until"]))
            }),
            "maintenance.contractors: each with a name and an until date",
        );
    }
}

fn non_empty(value: &Value) -> bool {
    value.as_str().is_some_and(|s| !s.trim().is_empty())
}

/// A non-empty list of non-empty strings.
fn strings(value: &Value) -> bool {
    value
        .as_array()
        .is_some_and(|all| !all.is_empty() && all.iter().all(non_empty))
}

fn one_of(value: &Value, allowed: &[&str]) -> bool {
    value.as_str().is_some_and(|v| allowed.contains(&v))
}

fn is_url(value: &Value) -> bool {
    value.as_str().is_some_and(|url| {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        rest.is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
    })
}

/// A word of the standard's controlled vocabularies: lower case, with
/// hyphens.
fn is_tag(value: &Value) -> bool {
    value.as_str().is_some_and(|tag| {
        !tag.is_empty()
            && tag
                .split('-')
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase()))
    })
}

/// `YYYY-MM-DD`, the only date format the standard allows.
fn is_date(value: &Value) -> bool {
    value.as_str().is_some_and(|date| {
        let parts: Vec<&str> = date.split('-').collect();
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        parts.len() == 3 && digits(parts[0], 4) && digits(parts[1], 2) && digits(parts[2], 2)
    })
}

/// A `key = "value"` of the workspace's `[workspace.package]`.
fn workspace_package(key: &str) -> String {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let section = manifest
        .split("[workspace.package]")
        .nth(1)
        .expect("a [workspace.package] section");
    section
        .lines()
        .take_while(|line| !line.starts_with('['))
        .find_map(|line| {
            let (name, value) = line.split_once('=')?;
            (name.trim() == key).then(|| value.trim().trim_matches('"').to_string())
        })
        .unwrap_or_else(|| panic!("no {key} in [workspace.package]"))
}

#[test]
fn the_checks_catch_what_the_standard_forbids() {
    let mut code: Value = serde_json::json!({});
    assert!(!check_publiccode(&code).is_empty());
    code = serde_json::json!({ "releaseDate": "15/04/2017" });
    let problems = check_publiccode(&code);
    assert!(
        problems.iter().any(|p| p.starts_with("releaseDate")),
        "{problems:?}"
    );
}
