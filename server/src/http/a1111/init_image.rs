//! img2img input: base64 (raw, or with a `data:image/...;base64,` prefix as webuiapi sends it)
//! decoded to an RGB image and fitted to the requested size.
//!
//! Sizing rule (documented choice): when the client leaves `width`/`height` null the init
//! image's own size is used; when it names a size that differs, the image is resized to it with
//! bilinear filtering — A1111's default `resize_mode` 0, "Just resize" (other resize modes are
//! treated the same way). The fitted image is what gets stored and rendered from.

use base64::Engine as _;
use engine::image::RgbImage;

/// Decodes base64, tolerating a data-URI prefix and whitespace.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let payload = match text.split_once(";base64,") {
        Some((head, rest)) if head.starts_with("data:") => rest,
        _ => text,
    };
    let cleaned: String = payload.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(cleaned.as_bytes()))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(cleaned.as_bytes()))
        .map_err(|e| format!("not valid base64: {e}"))
}

/// Raw base64 (no prefix), as A1111 returns images.
pub fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Bilinear resize (pixel centres aligned, like PIL's `BILINEAR` for modest factors).
pub fn resize(image: &RgbImage, width: usize, height: usize) -> RgbImage {
    if image.width == width && image.height == height {
        return image.clone();
    }
    let (sw, sh) = (image.width.max(1), image.height.max(1));
    let mut pixels = Vec::with_capacity(width * height * 3);
    let at = |x: usize, y: usize, c: usize| f64::from(image.pixels[(y * sw + x) * 3 + c]);
    for y in 0..height {
        let fy = ((y as f64 + 0.5) * sh as f64 / height as f64 - 0.5).clamp(0.0, (sh - 1) as f64);
        let (y0, ty) = (fy.floor() as usize, fy.fract());
        let y1 = (y0 + 1).min(sh - 1);
        for x in 0..width {
            let fx =
                ((x as f64 + 0.5) * sw as f64 / width as f64 - 0.5).clamp(0.0, (sw - 1) as f64);
            let (x0, tx) = (fx.floor() as usize, fx.fract());
            let x1 = (x0 + 1).min(sw - 1);
            for c in 0..3 {
                let top = at(x0, y0, c) * (1.0 - tx) + at(x1, y0, c) * tx;
                let bottom = at(x0, y1, c) * (1.0 - tx) + at(x1, y1, c) * tx;
                let v = top * (1.0 - ty) + bottom * ty;
                pixels.push(v.round().clamp(0.0, 255.0) as u8);
            }
        }
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

    #[test]
    fn base64_with_and_without_prefix() {
        let raw = encode_base64(b"hello png");
        assert_eq!(decode_base64(&raw).unwrap(), b"hello png");
        let uri = format!("data:image/png;base64,{raw}");
        assert_eq!(decode_base64(&uri).unwrap(), b"hello png");
        assert!(decode_base64("***").is_err());
    }

    #[test]
    fn resize_keeps_flat_colours() {
        let img = RgbImage {
            width: 3,
            height: 2,
            pixels: [10u8, 20, 30].repeat(6),
        };
        let out = resize(&img, 8, 8);
        assert_eq!((out.width, out.height), (8, 8));
        assert!(out.pixels.chunks(3).all(|p| p == [10, 20, 30]));
    }
}
