//! Validation of events before they are appended: stream compatibility, finite numbers, JSON
//! text fields that parse, and bounded sizes. Keeps the log free of values that the JSON and
//! table exports could not represent faithfully.

use serde::de::IgnoredAny;

use crate::store::codec::MAX_PAYLOAD_BYTES;
use crate::store::error::InvalidEvent;
use crate::store::events::{Candidate, Event};
use crate::store::ids::StreamId;

/// Check `event` may be appended to `stream`. Returns the encoded payload on success.
pub fn validate_event(stream: &StreamId, event: &Event) -> Result<Vec<u8>, InvalidEvent> {
    check_stream(stream, event)?;
    check_values(event)?;
    let bytes = event.encode_payload().map_err(|e| InvalidEvent::Field {
        field: "payload",
        reason: e.to_string(),
    })?;
    if bytes.len() > MAX_PAYLOAD_BYTES {
        return Err(InvalidEvent::TooLarge {
            len: bytes.len(),
            limit: MAX_PAYLOAD_BYTES,
        });
    }
    Ok(bytes)
}

fn check_stream(stream: &StreamId, event: &Event) -> Result<(), InvalidEvent> {
    let ok = match (event, stream) {
        (Event::ExperimentCreated(e), StreamId::Experiment(id)) => e.experiment_id.0 == *id,
        (Event::SessionCreated(e), StreamId::Session(id)) => e.session_id.0 == *id,
        (Event::CandidateRendered(_), StreamId::Session(_) | StreamId::Generations) => true,
        (Event::RequestCompleted(_), StreamId::Requests) => true,
        (Event::A1111OptionsSet(_), StreamId::Generations) => true,
        (Event::EventRedacted(_), _) => true,
        (Event::SessionPurged(_) | Event::SessionOwned(_), StreamId::Session(_)) => true,
        (
            Event::TokenCreated(_) | Event::TokenRevoked(_) | Event::PasswordSet(_),
            StreamId::Access,
        ) => true,
        (
            Event::JobQueued(_)
            | Event::JobStarted(_)
            | Event::JobFinished(_)
            | Event::JobFailed(_)
            | Event::JobCancelled(_),
            StreamId::Jobs,
        ) => true,
        (
            Event::SessionForked(_)
            | Event::CalibrationGenerated(_)
            | Event::CalibrationSubmitted(_)
            | Event::RoundRequested(_)
            | Event::CandidatesProposed(_)
            | Event::RoundReady(_)
            | Event::RoundFailed(_)
            | Event::FeedbackSubmitted(_)
            | Event::IncumbentUpdated(_)
            | Event::BasisComputed(_)
            | Event::SeedRenewed(_)
            | Event::SessionDeleted(_),
            StreamId::Session(_),
        ) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(InvalidEvent::WrongStream {
            event_type: event.event_type().name(),
            stream: stream.to_string(),
        })
    }
}

fn finite(field: &'static str, xs: &[f64]) -> Result<(), InvalidEvent> {
    if xs.iter().all(|x| x.is_finite()) {
        Ok(())
    } else {
        Err(InvalidEvent::NonFinite { field })
    }
}

fn json(field: &'static str, text: &str) -> Result<(), InvalidEvent> {
    serde_json::from_str::<IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| InvalidEvent::NotJson {
            field,
            reason: e.to_string(),
        })
}

fn candidates(cs: &[Candidate]) -> Result<(), InvalidEvent> {
    for c in cs {
        finite("candidates[].z", &c.z)?;
        json("candidates[].generation_json", &c.generation_json)?;
    }
    Ok(())
}

fn check_values(event: &Event) -> Result<(), InvalidEvent> {
    match event {
        Event::ExperimentCreated(e) => json("config_json", &e.config_json),
        Event::SessionCreated(e) => {
            json("config_json", &e.config_json)?;
            if let Some(p) = &e.parent {
                finite("parent.current_z", &p.current_z)?;
                if let Some(c) = &p.incumbent {
                    candidates(std::slice::from_ref(c))?;
                }
                for t in &p.trajectory {
                    finite("parent.trajectory[].z", &t.z)?;
                }
            }
            Ok(())
        }
        Event::CalibrationGenerated(e) => candidates(&e.candidates),
        Event::CalibrationSubmitted(e) => finite("resulting_z", &e.resulting_z),
        Event::CandidatesProposed(e) => {
            finite("incumbent_z", &e.incumbent_z)?;
            finite("trust_radius", &[e.trust_radius])?;
            candidates(&e.candidates)
        }
        Event::CandidateRendered(e) => {
            let ms: Vec<f64> = e.timings.iter().map(|t| t.ms).collect();
            finite("timings[].ms", &ms)
        }
        Event::FeedbackSubmitted(e) => {
            json("raw_json", &e.raw_json)?;
            json("normalized_json", &e.normalized_json)
        }
        Event::IncumbentUpdated(e) => {
            finite("next_z", &e.next_z)?;
            json("update_summary_json", &e.update_summary_json)?;
            json("convergence_json", &e.convergence_json)
        }
        Event::JobQueued(e) => json("settings_json", &e.settings_json),
        Event::BasisComputed(e) => {
            json("recipe_json", &e.recipe_json)?;
            json("summary_json", &e.summary_json)
        }
        Event::JobFinished(e) => json("result_json", &e.result_json),
        Event::RequestCompleted(e) => json("body_json", &e.body_json),
        Event::A1111OptionsSet(e) => json("options_json", &e.options_json),
        Event::EventRedacted(_) | Event::SessionPurged(_) | Event::TokenRevoked(_) => Ok(()),
        Event::SessionOwned(e) => user_name(&e.user),
        Event::PasswordSet(e) => {
            user_name(&e.user)?;
            if !e.password_phc.starts_with("$argon2") || e.password_phc.len() > 256 {
                return Err(InvalidEvent::Field {
                    field: "password_phc",
                    reason: "must be an Argon2 PHC string".into(),
                });
            }
            Ok(())
        }
        Event::TokenCreated(e) => {
            user_name(&e.user)?;
            if e.label.chars().count() > 100 {
                return Err(InvalidEvent::Field {
                    field: "label",
                    reason: "at most 100 characters".into(),
                });
            }
            let hex = e.secret_hash.len() == 64
                && e.secret_hash
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            if !hex {
                return Err(InvalidEvent::Field {
                    field: "secret_hash",
                    reason: "must be 64 lowercase hex digits".into(),
                });
            }
            Ok(())
        }
        Event::SessionForked(_)
        | Event::RoundRequested(_)
        | Event::RoundReady(_)
        | Event::RoundFailed(_)
        | Event::SessionDeleted(_)
        | Event::SeedRenewed(_)
        | Event::JobStarted(_)
        | Event::JobFailed(_)
        | Event::JobCancelled(_) => Ok(()),
    }
}

/// A user name: 1..=64 of `[A-Za-z0-9._-]`.
pub fn valid_user_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn user_name(name: &str) -> Result<(), InvalidEvent> {
    if valid_user_name(name) {
        Ok(())
    } else {
        Err(InvalidEvent::Field {
            field: "user",
            reason: "1 to 64 of A-Z a-z 0-9 . _ -".into(),
        })
    }
}
