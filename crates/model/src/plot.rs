//! Plots for the dashboard, drawn here as SVG markup: no script and no library fetched by the
//! page, and the same picture for every browser. Colours come from the page's style (classes
//! `series-0` … `series-5`, `axis`, `grid`), so light and dark themes both apply; every text is
//! escaped.

use std::fmt::Write;

/// One line of a [`line_chart`]: a value (or none) for each of the chart's x labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 36.0;
/// Series beyond this many share the last colour.
const COLOURS: usize = 6;

/// A line chart of `series` over `x_labels` (days, say), the y axis from 0 to `y_max` with
/// `unit` after each tick's number. A point with no neighbour still shows, as a dot. `title`
/// names the chart for screen readers.
pub fn line_chart(
    title: &str,
    x_labels: &[String],
    series: &[Series],
    y_max: f64,
    unit: &str,
) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let y_max = if y_max > 0.0 { y_max } else { 1.0 };
    let x = |i: usize| match x_labels.len() {
        0 | 1 => LEFT + plot_w / 2.0,
        n => LEFT + plot_w * i as f64 / (n - 1) as f64,
    };
    let y = |v: f64| TOP + plot_h * (1.0 - (v / y_max).clamp(0.0, 1.0));
    let mut svg = open(title);
    y_grid(&mut svg, y_max, unit, |v| v, y);
    for (i, label) in x_labels.iter().enumerate() {
        // The first, the last, and about six between.
        let every = x_labels.len().div_ceil(6).max(1);
        if i % every == 0 || i + 1 == x_labels.len() {
            let _ = write!(
                svg,
                r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x(i),
                HEIGHT - BOTTOM + 18.0,
                escape(label)
            );
        }
    }
    for (n, line) in series.iter().enumerate() {
        let class = format!("series-{}", n.min(COLOURS - 1));
        let mut path = String::new();
        let mut pen_down = false;
        for (i, value) in line.values.iter().enumerate().take(x_labels.len()) {
            match value {
                Some(v) => {
                    let _ = write!(
                        path,
                        "{}{:.1},{:.1} ",
                        if pen_down { "L" } else { "M" },
                        x(i),
                        y(*v)
                    );
                    pen_down = true;
                    let _ = write!(
                        svg,
                        r#"<circle class="{class}" cx="{:.1}" cy="{:.1}" r="3"><title>{}: {}{}</title></circle>"#,
                        x(i),
                        y(*v),
                        escape(&line.name),
                        trim(*v),
                        escape(unit)
                    );
                }
                None => pen_down = false,
            }
        }
        if !path.is_empty() {
            let _ = write!(svg, r#"<path class="{class}" fill="none" d="{}"/>"#, path.trim_end());
        }
        let legend_y = TOP + 14.0 + 20.0 * n as f64;
        let _ = write!(
            svg,
            r#"<rect class="{class}" x="{:.1}" y="{:.1}" width="12" height="12"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            WIDTH - RIGHT + 16.0,
            legend_y - 10.0,
            WIDTH - RIGHT + 34.0,
            legend_y,
            escape(&line.name)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A bar chart: one bar per `(label, count)`, in the order given, the y axis from 0 to the
/// largest count.
pub fn bar_chart(title: &str, bars: &[(String, u64)]) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let max = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let mut svg = open(title);
    y_grid(&mut svg, max, "", f64::round, |v| TOP + plot_h * (1.0 - v / max));
    let slot = plot_w / bars.len().max(1) as f64;
    for (i, (label, count)) in bars.iter().enumerate() {
        let h = plot_h * *count as f64 / max;
        let left = LEFT + slot * i as f64;
        let _ = write!(
            svg,
            r#"<rect class="series-0" x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}"><title>{}: {count}</title></rect><text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            left + slot * 0.15,
            TOP + plot_h - h,
            slot * 0.7,
            escape(label),
            left + slot / 2.0,
            HEIGHT - BOTTOM + 18.0,
            escape(label)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Five horizontal grid lines from 0 to `max`, at `y` of each value (`tick` rounds it), with
/// the value and `unit` beside.
fn y_grid(svg: &mut String, max: f64, unit: &str, tick: fn(f64) -> f64, y: impl Fn(f64) -> f64) {
    for step in 0..=4 {
        let value = tick(max * f64::from(step) / 4.0);
        let at = y(value);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" y1="{at:.1}" x2="{:.1}" y2="{at:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{}{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            at + 4.0,
            trim(value),
            escape(unit)
        );
    }
}

fn open(title: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(title),
        escape(title)
    )
}

/// A number as a tick says it: no decimals when it is whole, one otherwise.
fn trim(value: f64) -> String {
    if (value - value.round()).abs() < 0.05 {
        format!("{}", value.round() as i64)
    } else {
        format!("{value:.1}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(n: usize) -> Vec<String> {
        (1..=n).map(|d| format!("2026-12-{d:02}")).collect()
    }

    #[test]
    fn a_line_is_broken_where_a_day_has_no_value_and_a_lone_point_is_a_dot() {
        let series = [Series {
            name: "production".into(),
            values: vec![Some(50.0), Some(100.0), None, Some(25.0)],
        }];
        let svg = line_chart("Compliance", &days(4), &series, 100.0, "%");
        // x from 48 to 570 over three steps of 174; y from 16 (100 %) to 224 (0 %).
        assert!(svg.contains(r#"d="M48.0,120.0 L222.0,16.0 M570.0,172.0""#), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("<title>production: 25%</title>"));
        assert!(svg.contains(">100%</text>") && svg.contains(">0%</text>"));
    }

    #[test]
    fn one_day_is_drawn_in_the_middle() {
        let series = [Series { name: "staging".into(), values: vec![Some(100.0)] }];
        let svg = line_chart("Compliance", &days(1), &series, 100.0, "%");
        assert!(svg.contains(r#"cx="309.0" cy="16.0""#), "{svg}");
        assert!(svg.contains(r#"d="M309.0,16.0""#));
    }

    #[test]
    fn text_is_escaped() {
        let series = [Series { name: "<script>\"x\"&".into(), values: vec![Some(1.0)] }];
        let svg = line_chart("a < b", &days(1), &series, 1.0, "");
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;&quot;x&quot;&amp;"));
        assert!(svg.contains("<title>a &lt; b</title>"));
        let bars = bar_chart("x", &[("<b>".into(), 1)]);
        assert!(bars.contains("&lt;b&gt;") && !bars.contains("<b>"));
    }

    #[test]
    fn bars_scale_to_the_largest_count() {
        let svg =
            bar_chart("Age", &[("0–7 d".into(), 4), ("8–30 d".into(), 2), ("> 30 d".into(), 0)]);
        // The plot is 208 high: 4 fills it, 2 half of it, 0 nothing.
        assert!(svg.contains(r#"height="208.0""#) && svg.contains(r#"height="104.0""#));
        assert!(svg.contains(r#"height="0.0""#));
        assert!(svg.contains("<title>8–30 d: 2</title>"));
    }
}
