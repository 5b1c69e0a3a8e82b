//! IDLE (RFC 2177, RFC 9051 §6.3.13): the client waits and the server
//! reports changes as they are committed, here or on another node (the
//! store's change notifications), until the client sends DONE.

use super::view::View;
use super::{Client, End, LoggedIn, Outcome};
use crate::proto::{Event, Response, Status, decode_idle_done};

impl Client<'_> {
    pub(super) async fn idle(
        &mut self,
        login: &mut LoggedIn,
        mut selected: Option<&mut View>,
    ) -> Result<Outcome, End> {
        self.send(Response::Continue("idling"));
        self.conn.expect_line();
        loop {
            self.conn.flush().await?;
            let timeout = self.ctx.settings.idle_timeout;
            let event = tokio::select! {
                _ = self.shutdown.cancelled() => {
                    self.send(Response::Untagged(Status::bye("Server shutting down")));
                    return Err(End::Closed);
                }
                read = tokio::time::timeout(timeout, self.conn.next()) => match read {
                    Ok(event) => event?,
                    Err(_) => {
                        self.send(Response::Untagged(Status::bye("Idle for too long")));
                        return Err(End::Closed);
                    }
                },
                _ = login.watch.changed() => {
                    // The wake-up is taken: make the report read the store.
                    self.forced_sync = true;
                    if let Some(view) = selected.as_deref_mut() {
                        self.report_changes(login, view, true).await;
                    }
                    continue;
                }
            };
            return Ok(Ok(match event {
                Some(Event::Line(line)) if decode_idle_done(&line).is_ok() => {
                    Status::ok("IDLE terminated")
                }
                Some(_) => Status::bad("Expected DONE"),
                None => return Err(End::Closed),
            }));
        }
    }
}
