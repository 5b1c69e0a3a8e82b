//! The out-of-office page ("Risposta automatica") and the forwarding page
//! ("Inoltro"): a mailbox user's own, under `/console/account/`, and an
//! admin's for a mailbox it manages, under the mailbox's page. Each saves
//! its half of the mailbox's generated Sieve script
//! (`ops::generated_sieve`), which then becomes the active one.
//!
//! When the active script was written by hand, the page says so, and
//! saving replaces it only with the confirmation box ticked; otherwise the
//! form comes back with the reason next to the box.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::form::{self, Field, FormView, Rejected};
use super::i18n::{Lang, T};
use super::layout::{self, View};
use super::mailboxes::mailbox_path;
use super::{Ctx, Flash, Page, Submit, done};
use crate::http::AppState;
use crate::http::error::HttpError;
use crate::ops::generated_sieve::{Day, Forwarding, Generated, Vacation, Whose};

const VACATION: &str = "vacation";
const FORWARDING: &str = "forwarding";

/// Whose pages: the logged-in user's, or a mailbox's for an admin.
enum Owner {
    Own,
    Mailbox { domain: String, local: String },
}

impl Owner {
    fn of_mailbox((domain, local): (String, String)) -> Owner {
        Owner::Mailbox { domain, local }
    }

    /// The address of an admin's mailbox, if the pages are one's.
    fn address(&self) -> Option<String> {
        match self {
            Owner::Own => None,
            Owner::Mailbox { domain, local } => Some(format!("{local}@{domain}")),
        }
    }

    /// The path of the page of `which` (`vacation` or `forwarding`).
    fn path(&self, which: &str) -> String {
        match self {
            Owner::Own => format!("/console/account/{which}"),
            Owner::Mailbox { domain, local } => format!("{}/{which}", mailbox_path(domain, local)),
        }
    }

    /// Checks that an admin asks for a mailbox's pages and a mailbox user
    /// for its own: each is refused the other's.
    fn check(&self, page: &Page) -> Result<(), HttpError> {
        match self {
            Owner::Own => Ok(()),
            Owner::Mailbox { .. } => page.require_admin(),
        }
    }

    /// The page's title: `own` for the user, `of` naming the mailbox.
    fn title(&self, lang: Lang, own: T, of: T) -> String {
        match self.address() {
            Some(address) => of.fill(lang, &[&address]),
            None => own.get(lang).to_string(),
        }
    }

    async fn generated(&self, page: &Page, state: &AppState) -> Result<Generated, HttpError> {
        self.check(page)?;
        let address = self.address();
        let whose = address.as_deref().map_or(Whose::Own, Whose::Mailbox);
        Ok(page.ops(state).generated_sieve(whose).await?)
    }
}

/// A day as typed: `2026-12-24`, or `24/12/2026` as Italians write it;
/// empty for none.
fn parse_day(text: &str) -> Result<Option<Day>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let iso = match text.split('/').collect::<Vec<_>>().as_slice() {
        [day, month, year] if year.len() == 4 => format!("{year}-{month:0>2}-{day:0>2}"),
        _ => text.to_string(),
    };
    iso.parse().map(Some).map_err(drop)
}

/// A day as people of `lang` read and type it: `24/12/2026` in Italian,
/// `2026-12-24` in English; both are read back.
fn shown(lang: Lang, day: Day) -> String {
    let iso = day.to_string();
    match (lang, iso.get(..4), iso.get(5..7), iso.get(8..)) {
        (Lang::It, Some(year), Some(month), Some(day)) => format!("{day}/{month}/{year}"),
        _ => iso,
    }
}

/// A day as it is typed back in; empty for none.
fn day_input(lang: Lang, day: Option<Day>) -> String {
    day.map(|d| shown(lang, d)).unwrap_or_default()
}

/// What the mailbox's page says of its reply and forwarding.
pub fn summary(ctx: &Ctx, generated: &Generated, path: &str) -> Markup {
    let vacation = &generated.settings.vacation;
    let forwarding = &generated.settings.forwarding;
    let lang = ctx.lang;
    let day = |day: Day| shown(lang, day);
    let vacation_state = match (vacation.enabled, vacation.start, vacation.end) {
        (false, _, _) => ctx.t(T::VacationOff).to_string(),
        (true, Some(start), Some(end)) => T::VacationPeriod.fill(lang, &[&day(start), &day(end)]),
        (true, Some(start), None) => T::VacationFrom.fill(lang, &[&day(start)]),
        (true, None, Some(end)) => T::VacationUntil.fill(lang, &[&day(end)]),
        (true, None, None) => ctx.t(T::VacationOn).to_string(),
    };
    let forwarding_state = if forwarding.enabled {
        T::ForwardingOnTo.fill(lang, &[&forwarding.forward_to])
    } else {
        ctx.t(T::ForwardingOff).to_string()
    };
    html! {
        h2 #mailbox-rules-title { (ctx.t(T::MailboxRulesTitle)) }
        @if let Some(name) = generated.replaces() {
            p.notice #hand-written { (T::NotInUse.fill(lang, &[&name])) }
        } @else if generated.dormant() {
            p.notice #dormant { (ctx.t(T::Dormant)) }
        }
        dl.summary {
            dt { a #vacation-link href=(format!("{path}/vacation")) { (ctx.t(T::VacationTitle)) } }
            dd #vacation-state { (vacation_state) }
            dt { a #forwarding-link href=(format!("{path}/forwarding")) { (ctx.t(T::ForwardingTitle)) } }
            dd #forwarding-state { (forwarding_state) }
        }
    }
}

/// The note on a mailbox whose settings are not in use: a script written
/// by hand is active, or none is.
fn not_in_use(ctx: &Ctx, generated: &Generated) -> Markup {
    html! {
        @if let Some(name) = generated.replaces() {
            p.notice #hand-written role="note" { (T::HandWritten.fill(ctx.lang, &[&name])) }
        } @else if generated.dormant() {
            p.notice #dormant role="note" { (ctx.t(T::Dormant)) }
        }
    }
}

/// The box that confirms replacing a hand-written script, if one is active.
fn replace_box(ctx: &Ctx, generated: &Generated, id: &str, view: &FormView<'_>) -> Markup {
    html! {
        @if let Some(name) = generated.replaces() {
            (form::checkbox(id, "replace", &T::ReplaceScript.fill(ctx.lang, &[&name]), false, view))
        }
    }
}

/// An on/off choice as two radio buttons.
fn switch(id: &str, legend: &str, on: (&str, bool), off: &str) -> Markup {
    let (on_label, enabled) = on;
    html! {
        fieldset {
            legend { (legend) }
            div {
                input id=(format!("{id}-on")) type="radio" name="enabled" value="1" checked[enabled];
                " "
                label for=(format!("{id}-on")) { (on_label) }
            }
            div {
                input id=(format!("{id}-off")) type="radio" name="enabled" value="0" checked[!enabled];
                " "
                label for=(format!("{id}-off")) { (off) }
            }
        }
    }
}

/// A form's page, with the status of a refusal.
fn render(
    ctx: &Ctx,
    owner: &Owner,
    title: String,
    here: String,
    body: Markup,
    rejected: Option<&Rejected>,
) -> Response {
    let body = html! {
        @if let Owner::Mailbox { domain, local } = owner {
            p { a href=(mailbox_path(domain, local)) { (T::BackTo.fill(ctx.lang, &[&format!("{local}@{domain}")])) } }
        }
        (body)
    };
    let mut view = View::new(title, here, body);
    if let Some(rejected) = rejected {
        view.status = rejected.status;
        view.refused = true;
    }
    layout::render(ctx, view)
}

async fn vacation_page(
    page: &Page,
    state: &AppState,
    owner: &Owner,
    rejected: Option<Rejected>,
) -> Result<Response, HttpError> {
    let generated = owner.generated(page, state).await?;
    let ctx = &page.ctx;
    let vacation = &generated.settings.vacation;
    let view = FormView::new(VACATION, rejected.as_ref());
    let enabled = view.value("enabled").map_or(vacation.enabled, |v| v == "1");
    let (start, end) = (
        day_input(ctx.lang, vacation.start),
        day_input(ctx.lang, vacation.end),
    );
    let path = owner.path(VACATION);
    let body = html! {
        p.intro { (ctx.t(T::VacationIntro)) }
        (not_in_use(ctx, &generated))
        form.panel method="post" action=(path) {
            (form::csrf(ctx.csrf()))
            (view.general())
            (switch("vacation", ctx.t(T::VacationLegend), (ctx.t(T::VacationOn), enabled), ctx.t(T::VacationOff)))
            (Field::new("vacation-start", "start", ctx.t(T::VacationStart))
                .value(&start).hint(ctx.t(T::VacationStartHint)).from(&view).render())
            (Field::new("vacation-end", "end", ctx.t(T::VacationEnd))
                .value(&end).hint(ctx.t(T::VacationEndHint)).from(&view).render())
            (Field::new("vacation-subject", "subject", ctx.t(T::VacationSubject))
                .value(&vacation.subject).hint(ctx.t(T::VacationSubjectHint)).from(&view).render())
            (Field::new("vacation-message", "message", ctx.t(T::VacationMessage))
                .value(&vacation.message).hint(ctx.t(T::VacationMessageHint)).multiline().from(&view).render())
            (replace_box(ctx, &generated, "vacation-replace", &view))
            button #vacation-submit type="submit" { (ctx.t(T::Save)) }
        }
    };
    let title = owner.title(ctx.lang, T::VacationTitle, T::VacationTitleOf);
    Ok(render(ctx, owner, title, path, body, rejected.as_ref()))
}

async fn forwarding_page(
    page: &Page,
    state: &AppState,
    owner: &Owner,
    rejected: Option<Rejected>,
) -> Result<Response, HttpError> {
    let generated = owner.generated(page, state).await?;
    let ctx = &page.ctx;
    let forwarding = &generated.settings.forwarding;
    let view = FormView::new(FORWARDING, rejected.as_ref());
    let enabled = view
        .value("enabled")
        .map_or(forwarding.enabled, |v| v == "1");
    let path = owner.path(FORWARDING);
    let body = html! {
        p.intro { (ctx.t(T::ForwardingIntro)) }
        (not_in_use(ctx, &generated))
        form.panel method="post" action=(path) {
            (form::csrf(ctx.csrf()))
            (view.general())
            (switch("forwarding", ctx.t(T::ForwardingLegend), (ctx.t(T::ForwardingOn), enabled), ctx.t(T::ForwardingOff)))
            (Field::new("forwarding-to", "forward_to", ctx.t(T::ForwardTo))
                .kind("email").value(&forwarding.forward_to).hint(ctx.t(T::ForwardToHint)).from(&view).render())
            (form::checkbox("forwarding-keep", "keep_copy", ctx.t(T::KeepCopy), forwarding.keep_copy, &view))
            (replace_box(ctx, &generated, "forwarding-replace", &view))
            button #forwarding-submit type="submit" { (ctx.t(T::Save)) }
        }
    };
    let title = owner.title(ctx.lang, T::ForwardingTitle, T::ForwardingTitleOf);
    Ok(render(ctx, owner, title, path, body, rejected.as_ref()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VacationForm {
    enabled: String,
    start: String,
    end: String,
    subject: String,
    message: String,
    replace: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ForwardingForm {
    enabled: String,
    forward_to: String,
    keep_copy: String,
    replace: String,
}

/// A refusal from the ops layer as the form shows it: a conflict is the
/// hand-written script that the box must confirm replacing.
fn refusal(
    form: &'static str,
    err: crate::ops::OpsError,
    lang: Lang,
    fields: &[(&str, &'static str)],
) -> Result<Rejected, HttpError> {
    let mut rejected = Rejected::from_error(form, err, lang, fields, T::ErrReplaceScript)?;
    if rejected.status == StatusCode::CONFLICT {
        rejected.field = Some("replace");
    }
    Ok(rejected)
}

async fn save_vacation(
    page: &Page,
    state: &AppState,
    owner: &Owner,
    form: VacationForm,
) -> Result<Response, HttpError> {
    owner.check(page)?;
    let lang = page.ctx.lang;
    let refuse = |rejected: Rejected| {
        rejected
            .keep("enabled", &form.enabled)
            .keep("start", &form.start)
            .keep("end", &form.end)
            .keep("subject", &form.subject)
            .keep("message", &form.message)
    };
    let bad_day = |field| Rejected::new(VACATION, Some(field), T::ErrAbsenceDate.get(lang).into());
    let (start, end) = match (parse_day(&form.start), parse_day(&form.end)) {
        (Ok(start), Ok(end)) => (start, end),
        (Err(()), _) => {
            return vacation_page(page, state, owner, Some(refuse(bad_day("start")))).await;
        }
        (_, Err(())) => {
            return vacation_page(page, state, owner, Some(refuse(bad_day("end")))).await;
        }
    };
    let vacation = Vacation {
        enabled: form.enabled == "1",
        start,
        end,
        subject: form.subject.clone(),
        message: form.message.clone(),
    };
    let address = owner.address();
    let whose = address.as_deref().map_or(Whose::Own, Whose::Mailbox);
    let saved = page
        .ops(state)
        .set_vacation(whose, vacation, form.replace == "1", &state.sieve)
        .await;
    match saved {
        Ok(_) => Ok(done(&owner.path(VACATION), Flash::VacationSaved)),
        Err(err) => {
            let fields = [
                ("start", "start"),
                ("end", "end"),
                ("subject", "subject"),
                ("message", "message"),
            ];
            let rejected = refusal(VACATION, err, lang, &fields)?;
            vacation_page(page, state, owner, Some(refuse(rejected))).await
        }
    }
}

async fn save_forwarding(
    page: &Page,
    state: &AppState,
    owner: &Owner,
    form: ForwardingForm,
) -> Result<Response, HttpError> {
    owner.check(page)?;
    let forwarding = Forwarding {
        enabled: form.enabled == "1",
        forward_to: form.forward_to.clone(),
        keep_copy: form.keep_copy == "1",
    };
    let address = owner.address();
    let whose = address.as_deref().map_or(Whose::Own, Whose::Mailbox);
    let saved = page
        .ops(state)
        .set_forwarding(whose, forwarding, form.replace == "1", &state.sieve)
        .await;
    match saved {
        Ok(_) => Ok(done(&owner.path(FORWARDING), Flash::ForwardingSaved)),
        Err(err) => {
            let fields = [("forward_to", "forward_to")];
            let rejected = refusal(FORWARDING, err, page.ctx.lang, &fields)?
                .keep("enabled", &form.enabled)
                .keep("forward_to", &form.forward_to)
                .keep("keep_copy", &form.keep_copy);
            forwarding_page(page, state, owner, Some(rejected)).await
        }
    }
}

/// `GET /console/account/vacation`.
pub async fn own_vacation(State(state): State<AppState>, page: Page) -> Response {
    page.respond(vacation_page(&page, &state, &Owner::Own, None).await)
}

/// `POST /console/account/vacation`.
pub async fn save_own_vacation(
    State(state): State<AppState>,
    submit: Submit<VacationForm>,
) -> Response {
    let Submit { page, form } = submit;
    page.respond(save_vacation(&page, &state, &Owner::Own, form).await)
}

/// `GET /console/account/forwarding`.
pub async fn own_forwarding(State(state): State<AppState>, page: Page) -> Response {
    page.respond(forwarding_page(&page, &state, &Owner::Own, None).await)
}

/// `POST /console/account/forwarding`.
pub async fn save_own_forwarding(
    State(state): State<AppState>,
    submit: Submit<ForwardingForm>,
) -> Response {
    let Submit { page, form } = submit;
    page.respond(save_forwarding(&page, &state, &Owner::Own, form).await)
}

/// `GET /console/domains/{domain}/mailboxes/{local}/vacation`.
pub async fn mailbox_vacation(
    State(state): State<AppState>,
    Path(mailbox): Path<(String, String)>,
    page: Page,
) -> Response {
    let owner = Owner::of_mailbox(mailbox);
    page.respond(vacation_page(&page, &state, &owner, None).await)
}

/// `POST /console/domains/{domain}/mailboxes/{local}/vacation`.
pub async fn save_mailbox_vacation(
    State(state): State<AppState>,
    Path(mailbox): Path<(String, String)>,
    submit: Submit<VacationForm>,
) -> Response {
    let Submit { page, form } = submit;
    let owner = Owner::of_mailbox(mailbox);
    page.respond(save_vacation(&page, &state, &owner, form).await)
}

/// `GET /console/domains/{domain}/mailboxes/{local}/forwarding`.
pub async fn mailbox_forwarding(
    State(state): State<AppState>,
    Path(mailbox): Path<(String, String)>,
    page: Page,
) -> Response {
    let owner = Owner::of_mailbox(mailbox);
    page.respond(forwarding_page(&page, &state, &owner, None).await)
}

/// `POST /console/domains/{domain}/mailboxes/{local}/forwarding`.
pub async fn save_mailbox_forwarding(
    State(state): State<AppState>,
    Path(mailbox): Path<(String, String)>,
    submit: Submit<ForwardingForm>,
) -> Response {
    let Submit { page, form } = submit;
    let owner = Owner::of_mailbox(mailbox);
    page.respond(save_forwarding(&page, &state, &owner, form).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_read_as_italians_and_iso_write_them() {
        let day = |text: &str| parse_day(text).map(|d| d.map(|d| d.to_string()));
        assert_eq!(day(""), Ok(None));
        assert_eq!(day(" 2026-12-24 "), Ok(Some("2026-12-24".to_string())));
        assert_eq!(day("24/12/2026"), Ok(Some("2026-12-24".to_string())));
        assert_eq!(day("6/1/2027"), Ok(Some("2027-01-06".to_string())));
        for bad in ["31/02/2026", "12/24", "domani", "2026/12/24", "24-12-2026"] {
            assert_eq!(day(bad), Err(()), "{bad:?}");
        }
        let christmas = "2026-12-25".parse().unwrap();
        assert_eq!(shown(Lang::It, christmas), "25/12/2026");
        assert_eq!(shown(Lang::En, christmas), "2026-12-25");
        for lang in Lang::ALL {
            assert_eq!(parse_day(&shown(lang, christmas)), Ok(Some(christmas)));
        }
    }
}
