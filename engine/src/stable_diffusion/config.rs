//! Reading a component's `config.json` the way diffusers does: absent keys take the class
//! defaults, and a wrong type names the key and the file.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::EngineError;

/// A parsed `config.json` with typed accessors that fall back to diffusers' defaults.
pub struct JsonConfig {
    path: PathBuf,
    map: Map<String, Value>,
}

impl JsonConfig {
    /// Reads and parses `path`; a missing or non-object file is an error naming it.
    pub fn read(path: &Path) -> Result<Self, EngineError> {
        let text = std::fs::read_to_string(path).map_err(|e| EngineError::io(path, e))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| EngineError::config(path, format!("not valid JSON: {e}")))?;
        match value {
            Value::Object(map) => Ok(Self {
                path: path.to_path_buf(),
                map,
            }),
            _ => Err(EngineError::config(path, "expected a JSON object")),
        }
    }

    /// The file this config came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw value of `key`, treating `null` as absent.
    pub fn raw(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// `key` decoded as `T`, or `default` when absent.
    pub fn get_or<T: DeserializeOwned>(&self, key: &str, default: T) -> Result<T, EngineError> {
        match self.raw(key) {
            None => Ok(default),
            Some(v) => self.decode(key, v),
        }
    }

    /// `key` decoded as `T`; absent is an error.
    pub fn require<T: DeserializeOwned>(&self, key: &str) -> Result<T, EngineError> {
        match self.raw(key) {
            None => Err(EngineError::config(
                &self.path,
                format!("missing required key `{key}`"),
            )),
            Some(v) => self.decode(key, v),
        }
    }

    fn decode<T: DeserializeOwned>(&self, key: &str, v: &Value) -> Result<T, EngineError> {
        serde_json::from_value(v.clone()).map_err(|e| {
            EngineError::config(
                &self.path,
                format!("key `{key}` has an unusable value {v}: {e}"),
            )
        })
    }

    /// A value that diffusers accepts either as one number or as one number per block.
    pub fn per_block(&self, key: &str, blocks: usize) -> Result<Option<Vec<usize>>, EngineError> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Array(items)) => {
                let values: Vec<usize> = self.decode(key, &Value::Array(items.clone()))?;
                if values.len() != blocks {
                    return Err(EngineError::config(
                        &self.path,
                        format!(
                            "key `{key}` has {} values for {blocks} blocks",
                            values.len()
                        ),
                    ));
                }
                Ok(Some(values))
            }
            Some(v) => {
                let one: usize = self.decode(key, v)?;
                Ok(Some(vec![one; blocks]))
            }
        }
    }

    /// An error about this file.
    pub fn error(&self, message: impl Into<String>) -> EngineError {
        EngineError::config(&self.path, message)
    }
}
