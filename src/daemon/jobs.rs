//! The daemon's answers about jobs (SPEC §17): their ping URLs are made from
//! `[push] public_url` or the listener's address.

use super::control::{error, reply, ControlService};
use crate::control::protocol::{ErrorKind, JobInfo, Request, Response};
use crate::store::jobs::NewJob;

impl ControlService {
    /// Answers [`Request::Jobs`], [`Request::AddJob`] and [`Request::RemoveJob`].
    pub(super) async fn job_request(&self, request: Request) -> Response {
        let base = self.config.borrow().push.ping_base(&self.listen);
        match request {
            Request::Jobs { server } => reply(self.store.jobs(server).await, |rows| {
                Response::Jobs(rows.into_iter().map(|r| JobInfo::of(r, &base)).collect())
            }),
            Request::AddJob(new) => {
                let job = NewJob {
                    server: new.server,
                    name: new.name,
                    period: new.period_s,
                    cron: new.cron,
                    tz: new.tz,
                    grace: new.grace_s,
                };
                reply(self.store.add_job(job).await, |row| {
                    let info = JobInfo::of(row, &base);
                    log::info!(
                        "job {:?} of {} added: {}, grace {} s",
                        info.name,
                        info.server,
                        info.schedule,
                        info.grace_s
                    );
                    Response::Jobs(vec![info])
                })
            }
            Request::RemoveJob { id } => reply(self.store.remove_job(id).await, |name| {
                log::info!("job {name:?} removed by skypunchctl");
                Response::Done {
                    message: format!("Job: {name} has been removed"),
                }
            }),
            _ => error(ErrorKind::Protocol, "not a request about jobs"),
        }
    }
}
