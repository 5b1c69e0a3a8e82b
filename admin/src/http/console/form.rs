//! Forms: their fields, written so that each label names its input and
//! each hint and error is read with it (`aria-describedby`), and a refused
//! form shown again with what was typed (never a password) and the reason
//! next to the field it is about, which also takes the focus.
//!
//! Also the reading of what people type that the ops layer does not take
//! as text: sizes (`2GB`, `1,5GB`), counts and lists.

use axum::http::StatusCode;
use maud::{Markup, html};
use postino_config::ByteSize;

use super::i18n::{Lang, T};
use crate::http::error::{Code, HttpError};

/// A form sent back: which one, the values to show again, and why.
#[derive(Debug)]
pub struct Rejected {
    pub form: &'static str,
    /// The input at fault, by name; `None` for the form as a whole.
    pub field: Option<&'static str>,
    pub message: String,
    pub status: StatusCode,
    values: Vec<(&'static str, String)>,
}

impl Rejected {
    pub fn new(form: &'static str, field: Option<&'static str>, message: String) -> Rejected {
        Rejected {
            form,
            field,
            message,
            status: StatusCode::UNPROCESSABLE_ENTITY,
            values: Vec::new(),
        }
    }

    /// Reads a refusal, as [`HttpError`] classifies it, as a rejected form,
    /// or leaves it a failure with a page of its own (out of reach,
    /// forbidden, internal). `fields` maps the ops layer's field names, and
    /// the kinds of things that may already exist or be missing, to the
    /// form's inputs; `conflict` says what a broken rule means for this
    /// form.
    pub fn from_error(
        form: &'static str,
        err: impl Into<HttpError>,
        lang: Lang,
        fields: &[(&str, &'static str)],
        conflict: T,
    ) -> Result<Rejected, HttpError> {
        let err = err.into();
        let input = |name: &str| fields.iter().find(|(n, _)| *n == name).map(|&(_, i)| i);
        let (field, message, status) = match (err.code(), err.subject()) {
            (Code::Invalid, _) => {
                let field = err.field().unwrap_or_default();
                let message = invalid(field).get(lang).to_string();
                (input(field), message, err.status())
            }
            (Code::AlreadyExists, Some((what, name))) => {
                let message = T::ErrExists.fill(lang, &[&name]);
                (input(what), message, err.status())
            }
            // Something the form names that is missing is a wrong input of
            // the form, not a missing page.
            (Code::NotFound, Some((what, name))) if what != "domain" && input(what).is_some() => {
                let message = T::ErrTargetMissing.fill(lang, &[&name]);
                (input(what), message, StatusCode::UNPROCESSABLE_ENTITY)
            }
            (Code::Conflict, _) => (None, conflict.get(lang).to_string(), err.status()),
            (Code::Throttled, _) => {
                let wait = err.retry_after().unwrap_or_default();
                let message = T::LoginThrottled.fill(lang, &[&lang.wait(wait)]);
                (None, message, err.status())
            }
            _ => return Err(err),
        };
        let mut rejected = Rejected::new(form, field, message);
        rejected.status = status;
        Ok(rejected)
    }

    /// Keeps what was typed in an input, to show it again.
    pub fn keep(mut self, name: &'static str, value: &str) -> Rejected {
        self.values.push((name, value.to_string()));
        self
    }
}

/// What an ops field's refusal means, in words for people: the ops
/// layer's own messages are for operators, in English.
fn invalid(field: &str) -> T {
    match field {
        "domain" | "sender-domain" => T::ErrDomain,
        "address" => T::ErrLocalPart,
        "alias" => T::ErrAliasSource,
        "target" => T::ErrTargets,
        "display_name" => T::ErrDisplayName,
        "quota_bytes" => T::ErrQuotaOverDomain,
        "password" | "new_password" => T::ErrPasswordShort,
        "current_password" => T::ErrWrongCurrent,
        "selector" => T::ErrSelector,
        "name" => T::ErrRelayName,
        "cidr" => T::ErrRelayNetworks,
        "until" | "end" => T::ErrDateOrder,
        "subject" => T::ErrVacationSubject,
        "message" => T::ErrVacationMessage,
        "forward_to" => T::ErrForwardTo,
        "user" => T::ErrShareUser,
        "rights" => T::ErrShareRights,
        _ => T::ErrInvalid,
    }
}

/// One form's view of a refusal: nothing unless it is this form's.
#[derive(Clone, Copy)]
pub struct FormView<'a> {
    rejected: Option<&'a Rejected>,
}

impl<'a> FormView<'a> {
    pub fn new(form: &str, rejected: Option<&'a Rejected>) -> FormView<'a> {
        FormView {
            rejected: rejected.filter(|r| r.form == form),
        }
    }

    pub fn value(&self, name: &str) -> Option<&'a str> {
        let values = &self.rejected?.values;
        values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn error(&self, name: &str) -> Option<&'a str> {
        self.rejected
            .filter(|r| r.field == Some(name))
            .map(|r| r.message.as_str())
    }

    /// The refusal of the form as a whole, at its top.
    pub fn general(&self) -> Markup {
        html! {
            @if let Some(rejected) = self.rejected.filter(|r| r.field.is_none()) {
                p.error role="alert" { (rejected.message) }
            }
        }
    }
}

/// The hidden field of every form that changes something.
pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A checkbox sending `1` when ticked, its label after it, with its error.
pub fn checkbox(id: &str, name: &str, label: &str, checked: bool, view: &FormView<'_>) -> Markup {
    let checked = view.value(name).map_or(checked, |value| value == "1");
    let error = view.error(name);
    let error_id = format!("{id}-error");
    html! {
        div.field.field-error[error.is_some()] {
            @if let Some(error) = error {
                p.error id=(error_id) role="alert" { (error) }
            }
            input id=(id) name=(name) type="checkbox" value="1" checked[checked]
                aria-describedby=[error.map(|_| error_id.as_str())]
                aria-invalid=[error.map(|_| "true")] autofocus[error.is_some()];
            " "
            label.inline for=(id) { (label) }
        }
    }
}

/// One labelled input, with its hint and error.
pub struct Field<'a> {
    id: &'a str,
    name: &'static str,
    label: &'a str,
    kind: &'static str,
    value: Option<&'a str>,
    hint: Option<String>,
    suffix: Option<&'a str>,
    error: Option<&'a str>,
    autocomplete: &'static str,
    required: bool,
    multiline: bool,
}

impl<'a> Field<'a> {
    pub fn new(id: &'a str, name: &'static str, label: &'a str) -> Field<'a> {
        Field {
            id,
            name,
            label,
            kind: "text",
            value: None,
            hint: None,
            suffix: None,
            error: None,
            autocomplete: "off",
            required: false,
            multiline: false,
        }
    }

    /// A password input: never filled in again, and named for password
    /// managers (`current-password` or `new-password`).
    pub fn password(mut self, autocomplete: &'static str) -> Field<'a> {
        self.kind = "password";
        self.autocomplete = autocomplete;
        self
    }

    pub fn kind(mut self, kind: &'static str) -> Field<'a> {
        self.kind = kind;
        self
    }

    pub fn value(mut self, value: &'a str) -> Field<'a> {
        self.value = Some(value);
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Field<'a> {
        self.hint = Some(hint.into());
        self
    }

    /// Text right after the input, read with it (such as `@domain`).
    pub fn suffix(mut self, suffix: &'a str) -> Field<'a> {
        self.suffix = Some(suffix);
        self
    }

    pub fn required(mut self) -> Field<'a> {
        self.required = true;
        self
    }

    pub fn multiline(mut self) -> Field<'a> {
        self.multiline = true;
        self
    }

    /// What the form's refusal says about this input: the value typed and
    /// the error, if any.
    pub fn from(mut self, view: &FormView<'a>) -> Field<'a> {
        if self.kind != "password"
            && let Some(value) = view.value(self.name)
        {
            self.value = Some(value);
        }
        self.error = view.error(self.name);
        self
    }

    pub fn render(&self) -> Markup {
        let hint_id = format!("{}-hint", self.id);
        let error_id = format!("{}-error", self.id);
        let suffix_id = format!("{}-suffix", self.id);
        let described: Vec<&str> = [
            self.hint.as_ref().map(|_| hint_id.as_str()),
            self.error.map(|_| error_id.as_str()),
            self.suffix.map(|_| suffix_id.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect();
        let described = (!described.is_empty()).then(|| described.join(" "));
        let invalid = self.error.map(|_| "true");
        let autofocus = self.error.is_some();
        html! {
            div.field.field-error[self.error.is_some()] {
                label for=(self.id) { (self.label) }
                @if let Some(hint) = &self.hint {
                    span.hint id=(hint_id) { (hint) }
                }
                @if let Some(error) = self.error {
                    p.error id=(error_id) role="alert" { (error) }
                }
                @if self.multiline {
                    textarea id=(self.id) name=(self.name) rows="3" autocomplete=(self.autocomplete)
                        aria-describedby=[described.as_deref()] aria-invalid=[invalid]
                        required[self.required] autofocus[autofocus] {
                        (self.value.unwrap_or(""))
                    }
                } @else {
                    input id=(self.id) name=(self.name) type=(self.kind) autocomplete=(self.autocomplete)
                        value=[self.value] aria-describedby=[described.as_deref()] aria-invalid=[invalid]
                        required[self.required] autofocus[autofocus];
                }
                @if let Some(suffix) = self.suffix {
                    span.suffix id=(suffix_id) { (suffix) }
                }
            }
        }
    }
}

/// A size as typed: `2GB`, `500 MB`, `1,5GB` (a decimal comma, as Italian
/// writes it); empty for none (0).
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() {
        return Some(0);
    }
    text.replace(',', ".").parse::<ByteSize>().ok().map(|s| s.0)
}

/// A size as it is typed back in: exact, so that an unchanged form
/// changes nothing; empty for none.
pub fn size_input(bytes: i64) -> String {
    match u64::try_from(bytes) {
        Ok(0) | Err(_) => String::new(),
        Ok(bytes) => {
            // ByteSize shows sizes that no unit divides only roughly.
            let text = ByteSize(bytes).to_string();
            if text.parse::<ByteSize>() == Ok(ByteSize(bytes)) {
                text
            } else {
                bytes.to_string()
            }
        }
    }
}

/// A count as typed; empty for none (0).
pub fn parse_count(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() {
        return Some(0);
    }
    text.parse().ok()
}

/// The items of a list typed one a line or separated by commas,
/// semicolons or spaces.
pub fn items(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_read_as_people_type_them() {
        assert_eq!(parse_size(""), Some(0));
        assert_eq!(parse_size(" 2GB "), Some(2_000_000_000));
        assert_eq!(parse_size("1,5GB"), Some(1_500_000_000));
        assert_eq!(parse_size("512 MiB"), Some(512 * 1024 * 1024));
        assert_eq!(parse_size("tanto"), None);
        assert_eq!(parse_size("-1GB"), None);
        assert_eq!(size_input(0), "");
        assert_eq!(size_input(2_000_000_000), "2GB");
        assert_eq!(size_input(1_234_567), "1234567");
    }

    #[test]
    fn counts_and_lists() {
        assert_eq!(parse_count(""), Some(0));
        assert_eq!(parse_count("50"), Some(50));
        assert_eq!(parse_count("-3"), None);
        assert_eq!(
            items("a@b.it, c@d.it\r\ne;f  \n"),
            ["a@b.it", "c@d.it", "e", "f"]
        );
        assert!(items(" ,\n").is_empty());
    }

    #[test]
    fn a_field_names_its_hint_and_error() {
        let rejected =
            Rejected::new("f", Some("quota"), "<troppo>".to_string()).keep("quota", "9\"TB");
        let view = FormView::new("f", Some(&rejected));
        let html = Field::new("f-quota", "quota", "Spazio")
            .hint("Per esempio 2GB")
            .from(&view)
            .render()
            .into_string();
        assert!(
            html.contains(r#"<label for="f-quota">Spazio</label>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"aria-describedby="f-quota-hint f-quota-error""#),
            "{html}"
        );
        assert!(html.contains(r#"aria-invalid="true""#), "{html}");
        assert!(
            html.contains(r#"role="alert">&lt;troppo&gt;</p>"#),
            "{html}"
        );
        assert!(html.contains(r#"value="9&quot;TB""#), "{html}");
        assert!(html.contains("autofocus"), "{html}");

        let other = FormView::new("g", Some(&rejected));
        let html = Field::new("g-quota", "quota", "Spazio")
            .from(&other)
            .render()
            .into_string();
        assert!(
            !html.contains("error") && !html.contains("value="),
            "{html}"
        );
    }

    #[test]
    fn passwords_are_never_shown_again() {
        let rejected = Rejected::new("f", None, String::new()).keep("password", "segreta");
        let view = FormView::new("f", Some(&rejected));
        let html = Field::new("p", "password", "Password")
            .password("new-password")
            .from(&view)
            .render()
            .into_string();
        assert!(!html.contains("segreta"), "{html}");
    }
}
