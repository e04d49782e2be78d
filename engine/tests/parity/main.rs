//! Parity with diffusers: the tiny models in `engine/models` and the reference outputs in
//! `engine/tests/fixtures` were produced by `scripts/make_engine_fixtures.py` (diffusers +
//! transformers on PyTorch). Each test loads the same folder with the engine and compares.

mod fixtures;

mod components;
mod encode_prompts;
mod loading;
mod pipelines;
mod schedulers;
mod tokenizer;
