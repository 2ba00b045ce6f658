//! PNG plots without fonts: heatmaps (accuracy by depth × length) and line plots (speed vs
//! context). Drawing goes through `plotters`' bitmap backend into an RGB buffer; the PNG is
//! encoded here (zlib via `flate2`), so no image or font libraries are needed. Cell values are
//! printed with a built-in 3×5 pixel digit font; axis names and legends are in the markdown
//! report next to each image.

use std::io::Write;
use std::path::Path;

use plotters::prelude::*;

use crate::{Error, Result};

fn perr(e: impl std::fmt::Display) -> Error {
    Error::Report(format!("plot: {e}"))
}

/// Write an RGB8 buffer as a PNG file.
pub fn write_png(path: &Path, w: u32, h: u32, rgb: &[u8]) -> Result<()> {
    if rgb.len() != (w * h * 3) as usize {
        return Err(Error::Report(format!(
            "plot: {} bytes for {w}x{h}",
            rgb.len()
        )));
    }
    let mut raw = Vec::with_capacity(rgb.len() + h as usize);
    for row in rgb.chunks_exact(w as usize * 3) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).map_err(|e| Error::io(path, e))?;
    let idat = z.finish().map_err(|e| Error::io(path, e))?;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    for (kind, data) in [
        (b"IHDR", ihdr.as_slice()),
        (b"IDAT", idat.as_slice()),
        (b"IEND", &[][..]),
    ] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    }
    std::fs::write(path, png).map_err(|e| Error::io(path, e))
}

/// 3×5 glyphs for 0-9, '.', '-' (bit 2 = left column).
const DIGITS: [[u8; 5]; 12] = [
    [7, 5, 5, 5, 7],
    [2, 6, 2, 2, 7],
    [7, 1, 7, 4, 7],
    [7, 1, 7, 1, 7],
    [5, 5, 7, 1, 1],
    [7, 4, 7, 1, 7],
    [7, 4, 7, 5, 7],
    [7, 1, 1, 1, 1],
    [7, 5, 7, 5, 7],
    [7, 5, 7, 1, 7],
    [0, 0, 0, 0, 2],
    [0, 0, 7, 0, 0],
];

fn draw_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    s: &str,
    x: i32,
    y: i32,
    px: i32,
    color: RGBColor,
) -> Result<()> {
    let mut cx = x;
    for ch in s.chars() {
        let g = match ch {
            '0'..='9' => DIGITS[(ch as u8 - b'0') as usize],
            '.' => DIGITS[10],
            '-' => DIGITS[11],
            _ => {
                cx += 4 * px;
                continue;
            }
        };
        for (r, bits) in g.iter().enumerate() {
            for c in 0..3 {
                if bits & (4 >> c) != 0 {
                    let (x0, y0) = (cx + c * px, y + r as i32 * px);
                    area.draw(&Rectangle::new(
                        [(x0, y0), (x0 + px, y0 + px)],
                        color.filled(),
                    ))
                    .map_err(perr)?;
                }
            }
        }
        cx += 4 * px;
    }
    Ok(())
}

/// Red (0) → yellow (0.5) → green (1).
fn score_color(v: f64) -> RGBColor {
    let v = v.clamp(0.0, 1.0);
    if v < 0.5 {
        RGBColor(220, (60.0 + 380.0 * v) as u8, 60)
    } else {
        RGBColor((220.0 - 380.0 * (v - 0.5)) as u8, 200, 60)
    }
}

/// A heatmap of `cells[row][col]` in [0, 1] (None = not run: grey), the value ×100 printed in
/// each cell. Rows top to bottom, columns left to right, as in the markdown table.
pub fn heatmap(path: &Path, cells: &[Vec<Option<f64>>]) -> Result<()> {
    let rows = cells.len().max(1) as u32;
    let cols = cells.iter().map(Vec::len).max().unwrap_or(1).max(1) as u32;
    let (cw, ch, pad) = (72u32, 44u32, 8u32);
    let (w, h) = (cols * cw + 2 * pad, rows * ch + 2 * pad);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(perr)?;
        for (r, row) in cells.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let x0 = (pad + c as u32 * cw) as i32;
                let y0 = (pad + r as u32 * ch) as i32;
                let col = v.map_or(RGBColor(200, 200, 200), score_color);
                root.draw(&Rectangle::new(
                    [(x0 + 1, y0 + 1), (x0 + cw as i32 - 1, y0 + ch as i32 - 1)],
                    col.filled(),
                ))
                .map_err(perr)?;
                if let Some(v) = v {
                    let s = format!("{:.0}", v * 100.0);
                    let px = 3;
                    let tw = s.len() as i32 * 4 * px;
                    draw_text(
                        &root,
                        &s,
                        x0 + (cw as i32 - tw) / 2,
                        y0 + (ch as i32 - 5 * px) / 2,
                        px,
                        BLACK,
                    )?;
                }
            }
        }
        root.present().map_err(perr)?;
    }
    write_png(path, w, h, &buf)
}

/// Series colours, in legend order (the markdown names them).
pub const SERIES_COLORS: [(&str, RGBColor); 6] = [
    ("blue", RGBColor(31, 119, 180)),
    ("orange", RGBColor(255, 127, 14)),
    ("green", RGBColor(44, 160, 44)),
    ("red", RGBColor(214, 39, 40)),
    ("purple", RGBColor(148, 103, 189)),
    ("brown", RGBColor(140, 86, 75)),
];

/// A line plot of `series` (x, y) with linear axes from 0 (y) and min..max (x); the y maximum
/// and the x extremes are printed in digits at the axes.
pub fn lines(path: &Path, series: &[Vec<(f64, f64)>]) -> Result<()> {
    let (w, h) = (640u32, 400u32);
    let pts: Vec<(f64, f64)> = series
        .iter()
        .flatten()
        .copied()
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .collect();
    let xmin = pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let xmax = pts.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let ymax = pts.iter().map(|p| p.1).fold(0.0, f64::max) * 1.1;
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(perr)?;
        let (l, r, t, b) = (60i32, w as i32 - 20, 20i32, h as i32 - 40);
        root.draw(&PathElement::new(
            vec![(l, t), (l, b), (r, b)],
            BLACK.stroke_width(2),
        ))
        .map_err(perr)?;
        if !pts.is_empty() && ymax > 0.0 {
            let sx = |x: f64| {
                if xmax > xmin {
                    l + ((x - xmin) / (xmax - xmin) * (r - l) as f64) as i32
                } else {
                    (l + r) / 2
                }
            };
            let sy = |y: f64| b - (y / ymax * (b - t) as f64) as i32;
            for i in 1..=4 {
                let y = t + (b - t) * i / 5;
                root.draw(&PathElement::new(
                    vec![(l, y), (r, y)],
                    RGBColor(225, 225, 225).stroke_width(1),
                ))
                .map_err(perr)?;
            }
            for (si, s) in series.iter().enumerate() {
                let color = SERIES_COLORS[si % SERIES_COLORS.len()].1;
                let p: Vec<(i32, i32)> = s
                    .iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                    .map(|&(x, y)| (sx(x), sy(y)))
                    .collect();
                root.draw(&PathElement::new(p.clone(), color.stroke_width(2)))
                    .map_err(perr)?;
                for q in p {
                    root.draw(&Circle::new(q, 4, color.filled()))
                        .map_err(perr)?;
                }
            }
            draw_text(&root, &format!("{:.0}", ymax / 1.1), 4, t, 2, BLACK)?;
            draw_text(&root, &format!("{xmin:.0}"), l, b + 10, 2, BLACK)?;
            let s = format!("{xmax:.0}");
            draw_text(&root, &s, r - s.len() as i32 * 8, b + 10, 2, BLACK)?;
        }
        root.present().map_err(perr)?;
    }
    write_png(path, w, h, &buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PNG has the signature, the right IHDR size and a valid zlib IDAT.
    #[test]
    fn png_roundtrip() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("vkv-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let p = dir.join("h.png");
        heatmap(&p, &[vec![Some(1.0), Some(0.5)], vec![None, Some(0.0)]])?;
        let b = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&b[12..16], b"IHDR");
        assert_eq!(
            u32::from_be_bytes([b[16], b[17], b[18], b[19]]),
            2 * 72 + 16
        );
        lines(
            &dir.join("l.png"),
            &[vec![(0.0, 1.0), (4096.0, 2.0)], vec![(0.0, 3.0)]],
        )?;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
