//! The /stats chart: a PNG drawn in-process with plotters on a pixel buffer.
//!
//! Text is drawn with a font shipped in the binary (DejaVu Sans Condensed, data/fonts/, under
//! its own free licence), so the chart looks the same on a server without any system fonts.
//! DejaVu has no Chinese characters: the chart's words are English and short, and the group's
//! own language is in the caption beside it.

use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::FontStyle;

use super::figures::DayStats;
use crate::core::day::date_of;

const WIDTH: u32 = 800;
const HEIGHT: u32 = 500;
const FONT: &[u8] = include_bytes!("../../../data/fonts/DejaVuSansCondensed.ttf");
const FAMILY: &str = "qunbot-sans";

fn font_ready() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .map_err(|_| tracing::error!("the chart's font would not load"))
            .is_ok()
    })
}

/// The chart for a period as PNG bytes: members on top; active members, speakers, joins and
/// leaves below. `None` if drawing failed (the caller then sends the summary alone).
pub fn render(title: &str, days: &[DayStats]) -> Option<Vec<u8>> {
    if days.is_empty() || !font_ready() {
        return None;
    }
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    if let Err(error) = draw(&mut pixels, title, days) {
        tracing::error!(%error, "the chart could not be drawn");
        return None;
    }
    encode_png(&pixels)
}

fn draw(
    pixels: &mut [u8],
    title: &str,
    days: &[DayStats],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(pixels, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, (FAMILY, 22).into_font())?;
    let (top, bottom) = root.split_vertically(HEIGHT as i32 * 2 / 5 - 20);

    let first = days[0].day;
    let last = days[days.len() - 1].day;
    // One label every few days so that 90 of them stay readable.
    let label_every = (days.len() / 8).max(1);
    let label = move |day: &i64| {
        if !((day - first) as usize).is_multiple_of(label_every) {
            return String::new();
        }
        date_of(*day)
            .map(|date| date.format("%m-%d").to_string())
            .unwrap_or_default()
    };
    let x_range = first..last.max(first + 1);

    let members_max = days.iter().map(|d| d.members).max().unwrap_or(0);
    let members_min = days.iter().map(|d| d.members).min().unwrap_or(0);
    let padding = ((members_max - members_min) / 5).max(2);
    let mut chart = ChartBuilder::on(&top)
        .margin(8)
        // Room for the last date's label.
        .margin_right(28)
        .x_label_area_size(22)
        .y_label_area_size(48)
        .caption("members", (FAMILY, 15).into_font())
        .build_cartesian_2d(
            x_range.clone(),
            (members_min - padding).max(0)..members_max + padding,
        )?;
    chart
        .configure_mesh()
        .x_labels(days.len().min(16))
        .x_label_formatter(&label)
        .label_style((FAMILY, 12).into_font())
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let blue = RGBColor(0x1f, 0x77, 0xb4);
    chart.draw_series(LineSeries::new(
        days.iter().map(|d| (d.day, d.members)),
        blue.stroke_width(2),
    ))?;

    let most = days
        .iter()
        .map(|d| d.active.max(d.speakers).max(d.joins).max(d.leaves))
        .max()
        .unwrap_or(0);
    let mut chart = ChartBuilder::on(&bottom)
        .margin(8)
        // Room for the last date's label.
        .margin_right(28)
        .x_label_area_size(22)
        .y_label_area_size(48)
        .build_cartesian_2d(x_range, 0..(most + most / 5).max(5))?;
    chart
        .configure_mesh()
        .x_labels(days.len().min(16))
        .x_label_formatter(&label)
        .label_style((FAMILY, 12).into_font())
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let lines: [Line; 4] = [
        ("active", RGBColor(0xff, 0x7f, 0x0e), |d| d.active),
        ("speakers", RGBColor(0x9c, 0x6a, 0xde), |d| d.speakers),
        ("joins", RGBColor(0x2c, 0xa0, 0x2c), |d| d.joins),
        ("leaves", RGBColor(0xd6, 0x27, 0x28), |d| d.leaves),
    ];
    for (name, color, figure) in lines {
        chart
            .draw_series(LineSeries::new(
                days.iter().map(|d| (d.day, figure(d))),
                color.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FAMILY, 13).into_font())
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    root.present()?;
    Ok(())
}

/// A series of the lower chart: its legend, colour and the figure it plots.
type Line = (&'static str, RGBColor, fn(&DayStats) -> i64);

fn encode_png(pixels: &[u8]) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let written = encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(pixels));
    match written {
        Ok(()) => Some(bytes),
        Err(error) => {
            tracing::error!(%error, "the chart could not be encoded");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_draws_as_a_png_with_text() {
        let days: Vec<DayStats> = (0..30)
            .map(|i| DayStats {
                day: 739_000 + i,
                members: 100 + i,
                joins: i % 3,
                leaves: i % 2,
                active: 20 + i % 7,
                speakers: 10 + i % 5,
                ..DayStats::default()
            })
            .collect();
        let png = render("Demo group, last 30 days", &days).expect("a chart");
        // QUNBOT_CHART_OUT=/tmp/chart.png keeps the picture for a person to look at.
        if let Ok(path) = std::env::var("QUNBOT_CHART_OUT") {
            std::fs::write(path, &png).unwrap();
        }
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        // Small enough for a photo; large enough to hold lines and labels, not a blank page.
        assert!(png.len() < 200_000, "{} bytes", png.len());
        assert!(png.len() > 8_000, "{} bytes", png.len());
        let blank = {
            let mut pixels = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
            pixels[0] = 254;
            encode_png(&pixels).unwrap()
        };
        assert!(png.len() > blank.len() * 4);
    }

    #[test]
    fn a_single_day_still_draws() {
        let days = vec![DayStats {
            day: 739_000,
            ..DayStats::default()
        }];
        assert!(render("one day", &days).is_some());
    }
}
