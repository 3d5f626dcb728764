//! The daemon's answers to silences and acknowledgements (SPEC §15): who asks is the
//! socket peer's user, and what is done is logged with it.

use super::control::{error, reply, store_error, ControlService};
use crate::control::protocol::{ErrorKind, Request, Response, SilenceInfo};
use crate::control::server::Peer;
use crate::domain::time::now_ms;
use crate::store::silences::SilenceRequest;

/// The name of the user with id `uid`, or `uid <n>` when it has none.
pub fn user_name(uid: u32) -> String {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map_or_else(|| format!("uid {uid}"), |u| u.name)
}

impl ControlService {
    /// Answers [`Request::AddSilence`], [`Request::Silences`], [`Request::RemoveSilence`],
    /// [`Request::Ack`] and [`Request::Quiet`].
    pub(super) async fn quiet_request(&self, request: Request, peer: &Peer) -> Response {
        let now = now_ms();
        match request {
            Request::AddSilence(new) => {
                let ask = SilenceRequest {
                    target: new.target,
                    server: new.server,
                    service: new.service,
                    matcher: new.matcher,
                    ends: new.ends_ms,
                    comment: new.comment,
                    created_by: user_name(peer.uid),
                };
                reply(self.store.add_silence(ask, now).await, |(s, quieted)| {
                    log::info!(
                        "silence {} added ({quieted} pending alerts held)",
                        s.describe()
                    );
                    Response::Silences(vec![SilenceInfo::of(&s, now)])
                })
            }
            Request::Silences { all } => reply(self.store.silences(all, now).await, |rows| {
                Response::Silences(rows.iter().map(|s| SilenceInfo::of(s, now)).collect())
            }),
            Request::RemoveSilence { id } => {
                reply(self.store.remove_silence(id, now).await, |()| {
                    log::info!("silence #{id} removed by {}", user_name(peer.uid));
                    Response::Done {
                        message: format!("Silence {id} has been removed"),
                    }
                })
            }
            Request::Ack { alert, comment } => {
                let user = user_name(peer.uid);
                let acked = self.store.ack(alert, user.clone(), comment, now).await;
                reply(acked, |a| {
                    log::info!("alert {alert} acknowledged by {user}: {}", a.message);
                    Response::Done {
                        message: format!("Alert {alert} acknowledged: {}", a.message),
                    }
                })
            }
            Request::Quiet => {
                let config = self.config.borrow().clone();
                match crate::control::quiet::gather(&self.store, &config, now).await {
                    Ok(q) => Response::Quiet(q),
                    Err(e) => store_error(e),
                }
            }
            _ => error(ErrorKind::Protocol, "not a request about silences"),
        }
    }
}
