//! The AUTOMATIC1111 `parameters` text that PNGs carry, so the images open with their settings
//! in A1111, ComfyUI and every tool that reads that chunk.

use crate::request::RenderRequest;
use crate::schedulers::SchedulerKind;

/// A1111's sampler name and schedule type for a scheduler.
pub fn a1111_sampler(kind: SchedulerKind) -> (&'static str, &'static str) {
    match kind {
        SchedulerKind::Ddim => ("DDIM", "Automatic"),
        SchedulerKind::Pndm => ("PLMS", "Automatic"),
        SchedulerKind::Euler => ("Euler", "Automatic"),
        SchedulerKind::EulerAncestral => ("Euler a", "Automatic"),
        SchedulerKind::DpmSolverMultistep => ("DPM++ 2M", "Automatic"),
        SchedulerKind::DpmSolverMultistepKarras => ("DPM++ 2M", "Karras"),
        SchedulerKind::Lms => ("LMS", "Automatic"),
    }
}

/// The `parameters` text for candidate `index` of `req`.
pub fn a1111_parameters(req: &RenderRequest, index: usize, model: &str) -> String {
    let (sampler, schedule) = a1111_sampler(req.scheduler);
    let seed = req.candidates.get(index).map_or(0, |c| c.seed);
    let mut text = single_line(&req.prompt);
    if !req.negative_prompt.is_empty() {
        text.push_str("\nNegative prompt: ");
        text.push_str(&single_line(&req.negative_prompt));
    }
    text.push_str(&format!(
        "\nSteps: {}, Sampler: {sampler}, Schedule type: {schedule}, CFG scale: {}, Seed: {seed}, Size: {}x{}, Model: {}",
        req.steps,
        req.guidance_scale,
        req.width,
        req.height,
        model.replace(',', " ")
    ));
    if let Some(init) = &req.init_image {
        text.push_str(&format!(", Denoising strength: {}", init.strength));
    }
    if req.clip_skip > 0 {
        text.push_str(&format!(", Clip skip: {}", req.clip_skip + 1));
    }
    text.push_str(&format!(
        ", Version: stablesteering {}",
        crate::ENGINE_VERSION
    ));
    text
}

/// A1111 keeps the prompt on one line of the chunk; newlines inside it would be misparsed.
fn single_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Candidate;

    #[test]
    fn parameters_text_has_the_a1111_shape() {
        let req = RenderRequest {
            prompt: "a red\nfox".into(),
            negative_prompt: "blurry".into(),
            scheduler: SchedulerKind::DpmSolverMultistepKarras,
            steps: 25,
            guidance_scale: 7.5,
            width: 512,
            height: 768,
            clip_skip: 1,
            candidates: vec![Candidate {
                seed: 42,
                init_latents: None,
                steering: None,
            }],
            init_image: None,
        };
        let text = a1111_parameters(&req, 0, "tiny-sd1");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "a red fox");
        assert_eq!(lines[1], "Negative prompt: blurry");
        assert!(lines[2].starts_with("Steps: 25, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.5, Seed: 42, Size: 512x768, Model: tiny-sd1, Clip skip: 2"));
    }
}
