//! IDLE (RFC 2177, RFC 9051 §6.3.13): the client waits and the server
//! reports changes as they are committed, here or on another node (the
//! store's change notifications), until the client sends DONE.

use super::{Done, End, Session};
use crate::proto::{Event, decode_idle_done};

impl Session<'_> {
    pub(super) async fn idle(&mut self) -> Result<Done, End> {
        self.conn().line("+ idling");
        self.conn().expect_line();
        loop {
            self.conn().flush().await?;
            let timeout = self.ctx.settings.idle_timeout;
            let (conn, login) = match (&mut self.conn, &mut self.login) {
                (Some(conn), Some(login)) => (conn, login),
                _ => return Ok(Done::bad("Log in first")),
            };
            let event = tokio::select! {
                _ = self.shutdown.cancelled() => {
                    conn.line("* BYE Server shutting down");
                    conn.flush().await?;
                    return Err(End::Closed);
                }
                read = tokio::time::timeout(timeout, conn.next()) => match read {
                    Ok(event) => event?,
                    Err(_) => {
                        conn.line("* BYE Idle for too long");
                        conn.flush().await?;
                        return Err(End::Closed);
                    }
                },
                _ = login.watch.changed() => {
                    // The wake-up is taken: make the report read the store.
                    self.forced_sync = true;
                    if self.selected.is_some() {
                        self.report_changes(true).await;
                    }
                    continue;
                }
            };
            return Ok(match event {
                Some(Event::Line(line)) if decode_idle_done(&line).is_ok() => {
                    Done::ok("IDLE terminated")
                }
                Some(_) => Done::bad("Expected DONE"),
                None => return Err(End::Closed),
            });
        }
    }
}
