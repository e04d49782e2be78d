//! Experiments and sessions: create (from YAML or a JSON config), delete, fork, and the config
//! template. The template's defaults follow the loaded model (its native size and name), so the
//! bundled demo model renders at 64×64 instead of being asked for 512×512.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::history::require_session;
use super::steering_inputs::session_seed;
use super::{ServiceError, ServiceResult, Services};
use crate::steering::basis::BasisRecipe;
use crate::steering::config::{parse_yaml_new, render_yaml, BasisKind, Strategy, StrategyConfig};
use crate::store::events::{
    BasisComputed, ExperimentCreated, SessionCreated, SessionDeleted, SessionOwned,
};
use crate::store::{
    AppendRequest, Event, ExpectedVersion, ForkRequest, Id, NewEvent, StreamAppend, StreamId,
};

/// The reference's default model id, accepted as "whatever model this server runs".
pub const REFERENCE_DEFAULT_MODEL: &str = "runwayml/stable-diffusion-v1-5";
/// Longest prompt accepted (characters; CLIP reads 77 tokens, people paste more).
pub const MAX_PROMPT_CHARS: usize = 4000;
/// Longest experiment name / description.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;

/// A created experiment and session.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub experiment_id: Option<Uuid>,
    pub session_id: Uuid,
}

impl Services {
    /// The default config of a new session on this server's model (the `preference` strategy).
    pub fn default_config(&self) -> StrategyConfig {
        let model = self.runner.model();
        StrategyConfig {
            image_size: format!("{0}x{0}", model.default_size),
            model_name: model.name.clone(),
            ..StrategyConfig::defaults_for(Strategy::Preference)
        }
    }

    /// The keys whose default comes from this server rather than from the strategy.
    fn server_defaults(&self) -> serde_json::Map<String, Value> {
        let model = self.runner.model();
        let mut map = serde_json::Map::new();
        map.insert(
            "image_size".into(),
            Value::from(format!("{0}x{0}", model.default_size)),
        );
        map.insert("model_name".into(), Value::from(model.name.clone()));
        map
    }

    /// The default YAML (with its comment header).
    pub fn config_template(&self) -> String {
        render_yaml(&self.default_config())
    }

    /// Parses and checks a YAML config against this server (model available).
    pub fn parse_config_yaml(&self, yaml: &str) -> ServiceResult<StrategyConfig> {
        let config = parse_yaml_new(yaml, &self.server_defaults())?;
        self.check_config(&config)?;
        Ok(config)
    }

    /// Parses and checks a JSON config (missing keys take this server's defaults).
    pub fn parse_config_json(&self, value: &Value) -> ServiceResult<StrategyConfig> {
        // Only the server's own keys are filled in here: the strategy decides the rest of the
        // defaults (a `classic` config must not inherit the `preference` seed policy).
        let mut merged = self.server_defaults();
        match value {
            Value::Object(m) => merged.extend(m.clone()),
            Value::Null => {}
            _ => return Err(ServiceError::invalid("config", "config must be an object")),
        }
        let config = StrategyConfig::from_map_new(&merged).map_err(|e| {
            let mut err: ServiceError = e.into();
            err.field = Some(format!("config.{}", err.field.clone().unwrap_or_default()));
            err
        })?;
        self.check_config(&config)?;
        Ok(config)
    }

    fn check_config(&self, config: &StrategyConfig) -> ServiceResult<()> {
        let loaded = &self.runner.model().name;
        if config.model_name != *loaded && config.model_name != REFERENCE_DEFAULT_MODEL {
            return Err(ServiceError::invalid(
                "model_name",
                format!(
                    "model `{}` is not available: this server runs `{loaded}`",
                    config.model_name
                ),
            ));
        }
        // A session whose every round would be refused is refused at creation.
        if let Ok((width, height)) = config.image_dimensions() {
            super::admission::admit(
                super::admission::Work {
                    width: u64::from(width),
                    height: u64::from(height),
                    steps: u64::from(config.num_inference_steps),
                    images: u64::from(config.candidate_count),
                },
                self.runner.model().device,
                "num_inference_steps",
            )?;
        }
        Ok(())
    }

    /// Creates an experiment.
    pub async fn create_experiment(
        self: &Arc<Self>,
        name: &str,
        description: &str,
        config: &StrategyConfig,
    ) -> ServiceResult<Uuid> {
        check_text("name", name, MAX_NAME_CHARS, false)?;
        check_text("description", description, MAX_DESCRIPTION_CHARS, true)?;
        let id = Uuid::now_v7();
        let event = Event::ExperimentCreated(ExperimentCreated {
            experiment_id: Id(id),
            name: name.to_string(),
            description: description.to_string(),
            config_json: config_json(config),
        });
        self.store
            .append_async(AppendRequest::single(
                StreamId::Experiment(id),
                ExpectedVersion::NO_STREAM,
                vec![NewEvent::new(event)],
            ))
            .await?;
        Ok(id)
    }

    /// Creates a session (with the experiment's config when one is given).
    pub async fn create_session(
        self: &Arc<Self>,
        experiment_id: Option<Uuid>,
        config: Option<StrategyConfig>,
        prompt: &str,
        negative_prompt: &str,
    ) -> ServiceResult<Uuid> {
        check_text("prompt", prompt, MAX_PROMPT_CHARS, false)?;
        check_text("negative_prompt", negative_prompt, MAX_PROMPT_CHARS, true)?;
        let config = match experiment_id {
            Some(exp) => {
                let stored = self
                    .store
                    .with_projections(|p| p.experiments.get(&exp).map(|e| e.config_json.clone()))
                    .ok_or_else(|| ServiceError::not_found("experiment", exp))?;
                let value: Value = serde_json::from_str(&stored)
                    .map_err(|e| ServiceError::internal(e.to_string()))?;
                StrategyConfig::from_json(&value)
                    .map_err(|e| ServiceError::internal(e.to_string()))?
            }
            None => config.ok_or_else(|| {
                ServiceError::invalid("config", "either experiment_id or config must be provided")
            })?,
        };
        let id = Uuid::now_v7();
        let event = Event::SessionCreated(SessionCreated {
            session_id: Id(id),
            experiment_id: experiment_id.map(Id),
            prompt: prompt.to_string(),
            negative_prompt: negative_prompt.to_string(),
            config_json: config_json(&config),
            model_ref: self.runner.model().name.clone(),
            parent: None,
        });
        let mut events = vec![NewEvent::new(event)];
        if let Some(owner) = super::principal::current() {
            events.push(NewEvent::new(Event::SessionOwned(SessionOwned {
                user: owner.user,
            })));
        }
        if let Some(basis) = self.basis_event(id, &config, prompt).await? {
            events.push(NewEvent::new(basis));
        }
        self.store
            .append_async(AppendRequest::single(
                StreamId::Session(id),
                ExpectedVersion::NO_STREAM,
                events,
            ))
            .await?;
        Ok(id)
    }

    /// The session's `basis.computed`: its semantic (or random orthonormal) basis computed by
    /// the runner's text encoder on a blocking thread; `None` for the sinusoidal basis.
    async fn basis_event(
        self: &Arc<Self>,
        session_id: Uuid,
        config: &StrategyConfig,
        prompt: &str,
    ) -> ServiceResult<Option<Event>> {
        if config.basis == BasisKind::Sinusoidal {
            return Ok(None);
        }
        let recipe = BasisRecipe::for_session(
            config.basis,
            prompt,
            config.steering_dimension,
            session_seed(session_id),
            self.runner.steering_modifiers(),
        );
        let runner = Arc::clone(&self.runner);
        let task_recipe = recipe.clone();
        let computed = tokio::task::spawn_blocking(move || runner.compute_basis(&task_recipe))
            .await
            .map_err(|e| ServiceError::internal(format!("the basis task stopped: {e}")))?
            .map_err(|e| {
                ServiceError::new(
                    super::ErrorKind::Unprocessable,
                    format!("{e}; shorten the prompt or choose `basis: sinusoidal`"),
                )
                .field("basis")
            })?;
        Ok(Some(Event::BasisComputed(BasisComputed {
            recipe_hash: recipe.hash(),
            recipe_json: recipe.canonical_json(),
            summary_json: computed.summary.canonical_json(),
            device: self.runner.model().device.to_string(),
        })))
    }

    /// `/setup/session`: YAML config → experiment + session.
    pub async fn setup_session(
        self: &Arc<Self>,
        experiment_name: &str,
        description: &str,
        prompt: &str,
        negative_prompt: &str,
        config_yaml: &str,
    ) -> ServiceResult<Created> {
        check_text("prompt", prompt, MAX_PROMPT_CHARS, false)?;
        check_text("negative_prompt", negative_prompt, MAX_PROMPT_CHARS, true)?;
        let config = self.parse_config_yaml(config_yaml)?;
        let name = if experiment_name.trim().is_empty() {
            "Untitled experiment"
        } else {
            experiment_name
        };
        let experiment_id = self.create_experiment(name, description, &config).await?;
        let session_id = self
            .create_session(Some(experiment_id), None, prompt, negative_prompt)
            .await?;
        Ok(Created {
            experiment_id: Some(experiment_id),
            session_id,
        })
    }

    /// Deletes a session (its active job is cancelled first). Unknown ids are 404.
    pub async fn delete_session(self: &Arc<Self>, session_id: Uuid) -> ServiceResult<()> {
        require_session(&self.store, session_id)?;
        let active = self.active_job(session_id);
        if let Some(job) = active {
            let _ = self.cancel_job(job).await;
        }
        let version = self.store.version_of(&StreamId::Session(session_id));
        self.store
            .append_async(AppendRequest {
                streams: vec![StreamAppend {
                    stream: StreamId::Session(session_id),
                    expected: ExpectedVersion::Exact(version),
                    events: vec![NewEvent::new(Event::SessionDeleted(SessionDeleted {
                        reason: "deleted by the user".into(),
                    }))],
                }],
            })
            .await?;
        Ok(())
    }

    /// Forks `session_id` at the end of `round`; returns the new session.
    pub async fn fork_session(
        self: &Arc<Self>,
        session_id: Uuid,
        round: u32,
    ) -> ServiceResult<Uuid> {
        let detail = require_session(&self.store, session_id)?;
        let known = detail
            .rounds
            .iter()
            .any(|r| r.index == round && !r.calibration)
            || detail
                .lineage
                .parent
                .as_ref()
                .is_some_and(|p| p.round == round)
            || round == 0;
        if !known {
            return Err(ServiceError::not_found(
                "round",
                format!("{round} of session {session_id}"),
            )
            .field("round"));
        }
        let store = self.store.clone();
        let mut request = ForkRequest::new(session_id, round);
        request.owner = super::principal::current().map(|p| p.user);
        let outcome =
            tokio::task::spawn_blocking(move || crate::store::fork::fork_session(&store, request))
                .await
                .map_err(|e| ServiceError::internal(e.to_string()))??;
        Ok(outcome.child_session_id)
    }
}

fn config_json(config: &StrategyConfig) -> String {
    serde_json::to_string(config).unwrap_or_else(|_| "{}".into())
}

/// Refuses empty (unless allowed), oversized or control-character text.
pub fn check_text(field: &str, text: &str, max: usize, empty_ok: bool) -> ServiceResult<()> {
    if !empty_ok && text.trim().is_empty() {
        return Err(ServiceError::invalid(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if text.chars().count() > max {
        return Err(ServiceError::invalid(
            field,
            format!("{field} is longer than {max} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(ServiceError::invalid(
            field,
            format!("{field} contains control characters"),
        ));
    }
    Ok(())
}
