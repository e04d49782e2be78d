//! Images in and out of the engine: decoded VAE output to 8-bit RGB, the cheap latent preview
//! shown during denoising, and PNG files carrying the generation settings as text chunks (the
//! A1111 `parameters` chunk plus any extra chunk such as our steering JSON).

use std::io::Cursor;

use crate::error::EngineError;

/// An 8-bit RGB image, rows top to bottom, `width * height * 3` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Interleaved RGB bytes.
    pub pixels: Vec<u8>,
}

impl RgbImage {
    /// Builds an image from NCHW floats in [-1, 1] (one image of a VAE output batch), mapping
    /// exactly as diffusers does: `round(clamp(x / 2 + 0.5, 0, 1) * 255)`.
    pub fn from_chw(chw: &[f32], width: usize, height: usize) -> Self {
        let plane = width * height;
        let mut pixels = Vec::with_capacity(plane * 3);
        for i in 0..plane {
            for c in 0..3 {
                let v = (chw[c * plane + i] / 2.0 + 0.5).clamp(0.0, 1.0);
                pixels.push((v * 255.0).round() as u8);
            }
        }
        Self {
            width,
            height,
            pixels,
        }
    }

    /// The image as CHW floats in [-1, 1] (VAE encoder input).
    pub fn to_chw(&self) -> Vec<f32> {
        let plane = self.width * self.height;
        let mut out = vec![0.0; plane * 3];
        for i in 0..plane {
            for c in 0..3 {
                out[c * plane + i] = f32::from(self.pixels[i * 3 + c]) / 255.0 * 2.0 - 1.0;
            }
        }
        out
    }

    /// Encodes as PNG with `(keyword, text)` chunks (tEXt when Latin-1, iTXt otherwise).
    pub fn to_png(&self, chunks: &[(String, String)]) -> Result<Vec<u8>, EngineError> {
        let err = |e: png::EncodingError| EngineError::io(std::path::Path::new("<png>"), e);
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            for (keyword, text) in chunks {
                if text.chars().all(|c| (c as u32) < 256) {
                    encoder
                        .add_text_chunk(keyword.clone(), text.clone())
                        .map_err(err)?;
                } else {
                    encoder
                        .add_itxt_chunk(keyword.clone(), text.clone())
                        .map_err(err)?;
                }
            }
            let mut writer = encoder.write_header().map_err(err)?;
            writer.write_image_data(&self.pixels).map_err(err)?;
            writer.finish().map_err(err)?;
        }
        Ok(out)
    }

    /// Decodes an 8-bit PNG (RGB, RGBA, grey or palette) into RGB, plus its text chunks.
    /// The header's size is checked against [`MAX_DECODE_PIXELS`] before any pixel buffer is
    /// allocated: a 187 KB PNG can declare 12000x12000 (a 576 MB buffer).
    pub fn from_png(bytes: &[u8]) -> Result<(Self, Vec<(String, String)>), EngineError> {
        let err = |e: png::DecodingError| {
            EngineError::invalid("image", format!("not a readable PNG: {e}"))
        };
        let mut decoder = png::Decoder::new(Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().map_err(err)?;
        let (declared_w, declared_h) = (reader.info().width, reader.info().height);
        if u64::from(declared_w) * u64::from(declared_h) > MAX_DECODE_PIXELS {
            return Err(EngineError::invalid(
                "image",
                format!(
                    "the PNG declares {declared_w}x{declared_h} pixels; images over \
                     {MAX_DECODE_PIXELS} pixels (4096x4096) are refused"
                ),
            ));
        }
        let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
        let frame = reader.next_frame(&mut buf).map_err(err)?;
        let (width, height) = (frame.width as usize, frame.height as usize);
        let data = &buf[..frame.buffer_size()];
        let channels = frame.color_type.samples();
        let mut pixels = Vec::with_capacity(width * height * 3);
        for px in data.chunks_exact(channels) {
            match channels {
                1 | 2 => pixels.extend([px[0]; 3]),
                _ => pixels.extend(&px[..3]),
            }
        }
        let info = reader.info();
        let mut chunks: Vec<(String, String)> = info
            .uncompressed_latin1_text
            .iter()
            .map(|c| (c.keyword.clone(), c.text.clone()))
            .collect();
        for c in &info.compressed_latin1_text {
            if let Ok(text) = c.get_text() {
                chunks.push((c.keyword.clone(), text));
            }
        }
        for c in &info.utf8_text {
            if let Ok(text) = c.get_text() {
                chunks.push((c.keyword.clone(), text));
            }
        }
        Ok((
            Self {
                width,
                height,
                pixels,
            },
            chunks,
        ))
    }
}

/// The largest picture [`RgbImage::from_png`] decodes (4096x4096: at most ~120 MB while
/// decoding). Larger ones are refused from their header.
pub const MAX_DECODE_PIXELS: u64 = 4096 * 4096;

/// Approximate latent → RGB factors for SD 1.x/2.x latents (the "cheap" preview A1111 shows).
const LATENT_RGB: [[f32; 3]; 4] = [
    [0.298, 0.207, 0.208],
    [0.187, 0.286, 0.173],
    [-0.158, 0.189, 0.264],
    [-0.184, -0.271, -0.473],
];

/// A preview of one candidate's latents `[C, h, w]` at latent resolution; costs one pass over
/// the latents, so it can run after every step.
pub fn latent_preview(latents: &[f32], channels: usize, width: usize, height: usize) -> RgbImage {
    let plane = width * height;
    let mut pixels = Vec::with_capacity(plane * 3);
    for i in 0..plane {
        let mut rgb = [0f32; 3];
        if channels == 4 {
            for (c, factors) in LATENT_RGB.iter().enumerate() {
                let v = latents[c * plane + i];
                for k in 0..3 {
                    rgb[k] += v * factors[k];
                }
            }
        } else {
            let mean = (0..channels).map(|c| latents[c * plane + i]).sum::<f32>() / channels as f32;
            rgb = [mean * 0.5; 3];
        }
        pixels.extend(rgb.map(|v| (((v + 1.0) / 2.0).clamp(0.0, 1.0) * 255.0).round() as u8));
    }
    RgbImage {
        width,
        height,
        pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A few hundred bytes that declare `width` x `height` (a decompression bomb's header).
    fn declared_png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, width, height);
            encoder.set_color(png::ColorType::Grayscale);
            let mut writer = encoder.write_header().unwrap();
            writer
                .write_chunk(
                    png::chunk::IDAT,
                    &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
                )
                .unwrap();
        }
        out
    }

    #[test]
    fn a_huge_declared_size_is_refused_before_decoding() {
        let bomb = declared_png(12_000, 12_000);
        assert!(bomb.len() < 1024);
        let err = RgbImage::from_png(&bomb).unwrap_err().to_string();
        assert!(err.contains("12000x12000"), "{err}");
        // At the limit the header passes (the truncated data then fails as unreadable).
        let edge = RgbImage::from_png(&declared_png(4096, 4096))
            .unwrap_err()
            .to_string();
        assert!(edge.contains("not a readable PNG"), "{edge}");
    }

    #[test]
    fn png_round_trips_pixels_and_text() {
        let img = RgbImage {
            width: 3,
            height: 2,
            pixels: (0..18).map(|v| v * 13).collect(),
        };
        let chunks = vec![
            (
                "parameters".to_string(),
                "a cat\nSteps: 20, Seed: 1".to_string(),
            ),
            (
                "stablesteering".to_string(),
                "{\"z\":[0.5]} — ünïcode ✓".to_string(),
            ),
        ];
        let png = img.to_png(&chunks).unwrap();
        let (back, text) = RgbImage::from_png(&png).unwrap();
        assert_eq!(back, img);
        assert_eq!(text, chunks);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(RgbImage::from_png(b"not a png").is_err());
        assert!(RgbImage::from_png(&[]).is_err());
    }

    #[test]
    fn chw_conversion_matches_diffusers_rounding() {
        let chw = vec![-1.0, 1.0, 0.0, 2.0, -3.0, 0.001];
        let img = RgbImage::from_chw(&chw, 2, 1);
        assert_eq!(img.pixels, vec![0, 128, 0, 255, 255, 128]);
    }
}
