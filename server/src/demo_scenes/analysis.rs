//! Reading a rendered demo scene back: background colour from the border, the object as the
//! largest connected region that differs from the background, its colour from its interior, and
//! its shape by the best overlap (IoU) with each shape's template scaled to the object's box.
//! Deliberately simple, so a score measures the model and not a clever reader.

use super::Vocabulary;

/// A pixel differs from the background when its RGB distance exceeds this.
const FOREGROUND_DISTANCE: f32 = 60.0;
/// Regions smaller than this many pixels are not an object.
const MIN_OBJECT_PIXELS: usize = 12;
/// Width of the border frame that samples the background.
const BORDER: usize = 2;

/// What the reader sees in one picture.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneReading {
    /// Nearest named colour to the border's median.
    pub background: String,
    /// The border's median RGB.
    pub background_rgb: [f32; 3],
    /// The largest object, if any region stands out from the background.
    pub object: Option<ObjectReading>,
}

/// The largest object of a picture.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectReading {
    /// Nearest named colour to the interior's median.
    pub colour: String,
    /// The interior's median RGB.
    pub rgb: [f32; 3],
    /// The best-matching shape.
    pub shape: String,
    /// Its IoU with the best template (0..1).
    pub shape_iou: f64,
    /// Pixels in the region.
    pub area: usize,
    /// Centre of mass (x, y) in pixels.
    pub centre: (f64, f64),
}

/// Reads a `width × height` RGB picture (row-major, 3 bytes per pixel).
pub fn read_scene(
    vocabulary: &Vocabulary,
    pixels: &[u8],
    width: usize,
    height: usize,
) -> SceneReading {
    let rgb: Vec<[f32; 3]> = pixels
        .chunks_exact(3)
        .map(|p| [p[0] as f32, p[1] as f32, p[2] as f32])
        .collect();
    let border: Vec<[f32; 3]> = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .filter(|&(x, y)| x < BORDER || y < BORDER || x + BORDER >= width || y + BORDER >= height)
        .map(|(x, y)| rgb[y * width + x])
        .collect();
    let background_rgb = median_rgb(&border);
    let foreground: Vec<bool> = rgb
        .iter()
        .map(|p| distance(p, &background_rgb) > FOREGROUND_DISTANCE)
        .collect();
    let region = largest_region(&foreground, width, height);
    let object = (region.len() >= MIN_OBJECT_PIXELS)
        .then(|| read_object(vocabulary, &rgb, &region, width, height));
    SceneReading {
        background: nearest_colour(vocabulary, &background_rgb).to_string(),
        background_rgb,
        object,
    }
}

fn read_object(
    vocabulary: &Vocabulary,
    rgb: &[[f32; 3]],
    region: &[usize],
    width: usize,
    height: usize,
) -> ObjectReading {
    let mut inside = vec![false; width * height];
    for &i in region {
        inside[i] = true;
    }
    // The interior (all four neighbours inside) avoids the blended edge pixels.
    let interior: Vec<[f32; 3]> = region
        .iter()
        .filter(|&&i| {
            let (x, y) = (i % width, i / width);
            x > 0
                && y > 0
                && x + 1 < width
                && y + 1 < height
                && inside[i - 1]
                && inside[i + 1]
                && inside[i - width]
                && inside[i + width]
        })
        .map(|&i| rgb[i])
        .collect();
    let colour_pixels: Vec<[f32; 3]> = if interior.len() >= 4 {
        interior
    } else {
        region.iter().map(|&i| rgb[i]).collect()
    };
    let colour_rgb = median_rgb(&colour_pixels);
    let (sx, sy) = region.iter().fold((0.0, 0.0), |(sx, sy), &i| {
        (sx + (i % width) as f64, sy + (i / width) as f64)
    });
    let n = region.len() as f64;
    let (shape, shape_iou) = best_shape(vocabulary, &inside, region, width);
    ObjectReading {
        colour: nearest_colour(vocabulary, &colour_rgb).to_string(),
        rgb: colour_rgb,
        shape,
        shape_iou,
        area: region.len(),
        centre: (sx / n, sy / n),
    }
}

/// The template with the highest IoU against the region, sampled over the region's box.
fn best_shape(
    vocabulary: &Vocabulary,
    inside: &[bool],
    region: &[usize],
    width: usize,
) -> (String, f64) {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for &i in region {
        let (x, y) = (i % width, i / width);
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    let (bw, bh) = ((x1 - x0 + 1) as f64, (y1 - y0 + 1) as f64);
    let mut best = (String::new(), -1.0);
    for (name, rows) in &vocabulary.shape_templates {
        let n = rows.len();
        let (mut both, mut either) = (0usize, 0usize);
        for (ty, row) in rows.iter().enumerate() {
            for (tx, cell) in row.bytes().enumerate() {
                let x = x0 + (((tx as f64 + 0.5) * bw / n as f64) as usize).min(x1 - x0);
                let y = y0 + (((ty as f64 + 0.5) * bh / n as f64) as usize).min(y1 - y0);
                let a = inside[y * width + x];
                let b = cell == b'#';
                both += usize::from(a && b);
                either += usize::from(a || b);
            }
        }
        let iou = both as f64 / either.max(1) as f64;
        if iou > best.1 {
            best = (name.clone(), iou);
        }
    }
    best
}

/// Pixel indices of the largest 4-connected region of `mask`.
fn largest_region(mask: &[bool], width: usize, height: usize) -> Vec<usize> {
    let mut seen = vec![false; mask.len()];
    let mut best: Vec<usize> = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        let mut region = vec![start];
        let mut next = 0;
        while next < region.len() {
            let i = region[next];
            next += 1;
            let (x, y) = (i % width, i / width);
            let neighbours = [
                (x > 0).then(|| i - 1),
                (x + 1 < width).then(|| i + 1),
                (y > 0).then(|| i - width),
                (y + 1 < height).then(|| i + width),
            ];
            for j in neighbours.into_iter().flatten() {
                if mask[j] && !seen[j] {
                    seen[j] = true;
                    region.push(j);
                }
            }
        }
        if region.len() > best.len() {
            best = region;
        }
    }
    best
}

fn median_rgb(pixels: &[[f32; 3]]) -> [f32; 3] {
    let mut out = [0.0; 3];
    for (c, slot) in out.iter_mut().enumerate() {
        let mut v: Vec<f32> = pixels.iter().map(|p| p[c]).collect();
        v.sort_by(f32::total_cmp);
        *slot = v.get(v.len() / 2).copied().unwrap_or(0.0);
    }
    out
}

fn distance(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// The vocabulary colour closest to `rgb`.
pub fn nearest_colour<'v>(vocabulary: &'v Vocabulary, rgb: &[f32; 3]) -> &'v str {
    vocabulary
        .colours
        .0
        .iter()
        .map(|(name, c)| {
            (
                name,
                distance(rgb, &[c[0] as f32, c[1] as f32, c[2] as f32]),
            )
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map_or("", |(name, _)| name.as_str())
}

#[cfg(test)]
mod tests {
    use super::super::vocabulary;
    use super::*;

    /// Draws a template as a scene: `shape` in `colour` on `background`, box at (x0, y0), side s.
    fn draw(
        shape: &str,
        colour: &str,
        background: &str,
        x0: usize,
        y0: usize,
        s: usize,
    ) -> Vec<u8> {
        let v = vocabulary();
        let rgb = |name: &str| v.colours.0.iter().find(|(n, _)| n == name).unwrap().1;
        let rows = &v.shape_templates[shape];
        let n = rows.len();
        let mut px = Vec::with_capacity(64 * 64 * 3);
        for y in 0..64 {
            for x in 0..64 {
                let on = x >= x0 && x < x0 + s && y >= y0 && y < y0 + s && {
                    let (tx, ty) = ((x - x0) * n / s, (y - y0) * n / s);
                    rows[ty].as_bytes()[tx] == b'#'
                };
                px.extend_from_slice(&rgb(if on { colour } else { background }));
            }
        }
        px
    }

    #[test]
    fn reads_every_shape_colour_and_background_of_clean_drawings() {
        let v = vocabulary();
        for (i, shape) in v.shapes.iter().enumerate() {
            let colour = &v.colours.0[i % v.colours.0.len()].0;
            let background = &v.colours.0[(i + 3) % v.colours.0.len()].0;
            let px = draw(shape, colour, background, 10 + i, 14, 30);
            let r = read_scene(v, &px, 64, 64);
            let o = r.object.expect("an object");
            assert_eq!(
                (&r.background, &o.colour, &o.shape),
                (background, colour, shape),
                "{shape}"
            );
        }
    }

    #[test]
    fn a_plain_picture_has_no_object() {
        let v = vocabulary();
        let px: Vec<u8> = std::iter::repeat_n([35u8, 75, 215], 64 * 64)
            .flatten()
            .collect();
        let r = read_scene(v, &px, 64, 64);
        assert_eq!(r.background, "blue");
        assert!(r.object.is_none());
    }
}
