//! Issue 19: the page at every scale, parsed as a browser would. The big figures are the
//! report's own numbers (each scenario and a synthetic big job); above 50 questions the grid
//! puts the rows with a problem first and folds the rest; a big job's execution lane is density
//! bands of bounded height with a scale each; the drawing keeps its width inside a scrolling
//! frame and tables scroll rather than break; quiet sources are thin; flags stay apart and on
//! the canvas; a synthetic recording says so.

use crate::common::*;
use scraper::{ElementRef, Html, Selector};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn sel(css: &str) -> Selector {
    Selector::parse(css).unwrap()
}

fn page(db: &Path) -> Html {
    Html::parse_document(&bb(db, &["report", "--format", "html"]).ok().stdout)
}

fn report(db: &Path) -> Value {
    serde_json::from_str(&bb(db, &["report", "--json"]).ok().stdout).unwrap()
}

fn text(e: ElementRef) -> String {
    e.text().collect()
}

fn count(doc: &Html, css: &str) -> usize {
    doc.select(&sel(css)).count()
}

/// A synthetic job big enough for every fold: 3,000 executions (334 questions), 8 cells
/// missing, 40 snapshots.
fn synthetic() -> (tempfile::TempDir, std::path::PathBuf) {
    let (d, db) = tmp();
    beacon_blackbox::synth::build(
        &db,
        &beacon_blackbox::synth::SynthOptions {
            executions: 3_000,
            snapshots: 40,
            change_rate: 0.02,
            seed: 7,
            durable: false,
        },
    )
    .unwrap();
    (d, db)
}

/// The figures of job `k`: name -> number as printed.
/// The figures as numbers (their thousands separators, checked here, taken out).
fn figures(doc: &Html, k: usize) -> BTreeMap<String, String> {
    let row = doc
        .select(&sel(&format!("#figures-{k}")))
        .next()
        .expect("a figures row");
    row.select(&sel("a.fig"))
        .map(|a| {
            let shown = text(a.select(&sel("b")).next().unwrap());
            // Groups of three after the first: 10,008, never 10008 or 1,0008.
            let groups: Vec<&str> = shown.split(',').collect();
            assert!(
                groups.iter().skip(1).all(|g| g.len() == 3)
                    && groups[0].len() <= 3
                    && (groups.len() == 1 || !groups[0].is_empty()),
                "{shown}"
            );
            (
                a.value().attr("data-fig").unwrap().to_string(),
                shown.replace(',', ""),
            )
        })
        .collect()
}

/// Every figure of every job is the number the JSON report gives, each links to an anchor
/// of the page, the caption is the report's cause, and the grid's counts agree.
pub(crate) fn figures_are_the_reports(db: &Path) {
    let doc = page(db);
    let r = report(db);
    let jobs = r["jobs"].as_array().unwrap();
    assert!(!jobs.is_empty());
    for (k, j) in jobs.iter().enumerate() {
        let a = &j["answer"];
        let f = figures(&doc, k);
        let n = |v: &Value| v.as_u64().map(|v| v.to_string()).unwrap();
        match a["expected"]["cells"].as_u64() {
            Some(c) => assert_eq!(f["expected"], c.to_string()),
            None => assert_eq!(f["expected"], "?"),
        }
        let c = &a["complete"];
        if c["complete_seen"].as_bool().unwrap() {
            assert_eq!(f["complete"], n(&c["rows"]));
        } else {
            assert_eq!(f["complete"], "–");
        }
        if a["expected"].is_null() {
            // No spec: no cells to cover, miss or run twice.
            for name in ["covered", "missing", "duplicated"] {
                assert_eq!(f[name], "–", "{name}");
            }
        } else {
            if c["complete_seen"].as_bool().unwrap() {
                assert_eq!(f["missing"], n(&a["missing"]));
            }
            assert_eq!(f["covered"], n(&c["covered"]));
            assert_eq!(f["duplicated"], n(&c["duplicated_cells"]));
        }
        match a["default_view"]["rows"].as_u64() {
            Some(v) => assert_eq!(f["view"], v.to_string()),
            None => assert!(!f.contains_key("view")),
        }
        let failed = a["failures"]["failed"].as_u64().unwrap_or(0);
        assert_eq!(f["failed"], failed.to_string());
        // The failures the findings name are the same rows.
        if let Some(fr) = r["router"]["failed_while_all_healthy"].as_u64() {
            let total: u64 = jobs
                .iter()
                .map(|j| j["answer"]["failures"]["failed"].as_u64().unwrap_or(0))
                .sum();
            assert!(
                fr <= total,
                "{fr} rows failed while healthy of {total} failed"
            );
        }
        // Every figure links to evidence that exists.
        for a in doc.select(&sel(&format!("#figures-{k} a.fig"))) {
            let href = a.value().attr("href").unwrap();
            assert_eq!(count(&doc, href), 1, "{href}");
        }
        // The caption is the report's cause, its code as code.
        let cause = doc
            .select(&sel(&format!("#figures-{k} p.cause")))
            .next()
            .map(text)
            .unwrap();
        assert_eq!(cause, a["cause"].as_str().unwrap().replace('`', ""));
        // The grid says the same covered count.
        if let Some(counts) = doc
            .select(&sel(&format!("#grid-{k} p.counts")))
            .next()
            .map(text)
        {
            // Counts are grouped by thousands (`10,000`), as in the figures.
            assert!(
                counts
                    .replace(',', "")
                    .contains(&format!(" {} covered", n(&c["covered"]))),
                "{counts}"
            );
        }
    }
    // Sentences' code is code, never literal backticks.
    for part in [".answer", ".findings"] {
        let t: String = doc.select(&sel(part)).map(text).collect();
        assert!(!t.contains('`'), "{part}: {t}");
    }
}

#[test]
fn figures_are_the_reports_numbers_in_every_scenario() {
    for name in ["classic", "cutoff", "outage", "legacy"] {
        let (_d, db, _) = record_scenario(name, 30.0);
        figures_are_the_reports(&db);
    }
}

#[test]
fn a_big_job_puts_its_problems_first_in_bounded_space() {
    let (_d, db) = synthetic();
    figures_are_the_reports(&db);
    let doc = page(&db);
    let r = report(&db);
    let questions = r["jobs"][0]["expected"]["questions"]
        .as_array()
        .unwrap()
        .len();
    assert!(questions > 50);
    let rows_of = |css: &str| -> Vec<ElementRef> {
        doc.select(&sel(&format!("table.matrix.{css} tbody tr")))
            .collect()
    };
    let problem = |tr: &ElementRef| tr.select(&sel("td.missing, td.dup, td.st-failed")).count() > 0;
    let (first, more, rest) = (rows_of("problems"), rows_of("more"), rows_of("rest"));
    // At most 50 before the fold, every row accounted for once.
    assert!(!first.is_empty() && first.len() <= 50);
    assert_eq!(first.len() + more.len() + rest.len(), questions);
    assert!(first.iter().chain(&more).all(problem));
    assert!(!rest.iter().any(problem));
    // The missing cells come first.
    let missing = |tr: &ElementRef| tr.select(&sel("td.missing")).count();
    let all_missing: usize = first.iter().chain(&more).map(missing).sum();
    assert_eq!(
        all_missing as u64,
        r["jobs"][0]["answer"]["missing"].as_u64().unwrap()
    );
    assert!(missing(&first[0]) > 0);
    assert!(first.windows(2).all(|w| missing(&w[0]) >= missing(&w[1])));
    // The folds say how many rows they hold.
    let summaries: Vec<String> = doc.select(&sel("details.fold summary")).map(text).collect();
    if !more.is_empty() {
        assert!(
            summaries
                .iter()
                .any(|s| s.starts_with(&format!("{} rows more", more.len())))
        );
    }
    assert!(
        summaries
            .iter()
            .any(|s| s.starts_with(&format!("{} row", rest.len()))),
        "{summaries:?}"
    );
    // Two header lines: the models across, their regions under them.
    let models = r["jobs"][0]["expected"]["models"].as_array().unwrap().len();
    let regions = r["jobs"][0]["expected"]["regions"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(count(&doc, "table.matrix.problems th.model"), models);
    assert_eq!(
        count(&doc, "table.matrix.problems th.region"),
        models * regions
    );
    // The execution lane: density bands, a scale each, no bar per execution.
    assert_eq!(count(&doc, "#lanes .bar"), 0);
    let bands = count(&doc, "#lanes .dens-band");
    assert!((1..=24).contains(&bands), "{bands}");
    assert!(count(&doc, "#lanes path.dens") >= bands);
    assert!(count(&doc, "#lanes .y-label") >= 2 * bands);
    // The drawing is bounded: under 2,000 units tall for 3,000 executions.
    let svg = doc.select(&sel("svg.lanes")).next().unwrap();
    let h: f64 = svg.value().attr("height").unwrap().parse().unwrap();
    assert!(h < 2_000.0, "{h}");
    // A synthetic recording says so, never "every 0s".
    let how = doc.select(&sel(".recorded")).next().map(text).unwrap();
    assert!(how.contains("synthetic"), "{how}");
    assert!(!how.contains("every 0s"), "{how}");
    assert_eq!(r["recording"]["sessions"][0]["made"], "synthetic");
    // ... first, in its title.
    let h1 = doc.select(&sel("h1")).next().map(text).unwrap();
    assert!(h1.starts_with("Synthetic recording"), "{h1}");
    // Rows that failed and then ran again are not failures "while all was healthy": the
    // router's count is of the rows failed at the end, like every other count.
    assert_eq!(
        r["router"]["failed_while_all_healthy"],
        r["jobs"][0]["answer"]["failures"]["failed"]
    );
}

#[test]
fn the_drawing_keeps_its_width_and_tables_scroll() {
    let (_d, db, _) = record_scenario("legacy", 30.0);
    let doc = page(&db);
    // The lanes keep their drawn width inside a frame that scrolls sideways.
    let svg = doc
        .select(&sel(".svg-wrap > .lanes-row > svg.lanes"))
        .next()
        .unwrap();
    assert_eq!(svg.value().attr("width"), Some("1240"));
    let css: String = doc.select(&sel("style")).map(text).collect();
    assert!(css.contains(".svg-wrap{overflow-x:auto"));
    // Its label column stays in place while the drawing scrolls: the same drawing, cut to
    // the gutter, sticky at the frame's left edge.
    let gutter = doc
        .select(&sel("#lanes .svg-wrap > .lanes-row > svg.gutter"))
        .next()
        .unwrap();
    assert_eq!(gutter.value().attr("width"), Some("280"));
    let used = gutter.select(&sel("use")).next().unwrap();
    assert_eq!(used.value().attr("href"), Some("#lanes-all"));
    assert_eq!(doc.select(&sel("svg.lanes > g#lanes-all")).count(), 1);
    assert!(css.contains("svg.gutter{position:sticky;left:0"), "{css}");
    let rule = &css[css.find("svg.lanes{").unwrap()..];
    let rule = &rule[..rule.find('}').unwrap()];
    assert!(
        !rule.contains("width"),
        "the drawing is not squeezed to the window: {rule}"
    );
    assert!(!css.contains("td,th{overflow-wrap") && !css.contains("li,td"));
    // Every table sits in a frame of its own that scrolls.
    for t in doc.select(&sel("table")) {
        let framed = t.ancestors().filter_map(ElementRef::wrap).any(|a| {
            a.value()
                .classes()
                .any(|c| c == "table-wrap" || c == "grid-wrap")
        });
        assert!(framed, "{}", t.html().chars().take(80).collect::<String>());
    }
    // 225 executions: density bands, each cell's region, model and question in columns.
    assert_eq!(count(&doc, "#lanes .bar"), 0);
    assert!(count(&doc, "#lanes .dens-band") > 0);
    // Text in the drawing is never under 10 px.
    let sizes: Vec<f64> = css
        .match_indices("font-size:")
        .map(|(i, _)| {
            let v = &css[i + 10..];
            v[..v.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap()]
                .parse()
                .unwrap()
        })
        .collect();
    assert!(sizes.iter().all(|s| *s >= 10.0), "{sizes:?}");
}

#[test]
fn quiet_sources_are_thin_lines_and_bars_name_their_cells_in_columns() {
    let (_d, db, _) = record_scenario("classic", 30.0);
    let doc = page(&db);
    let r = report(&db);
    // Every request of classic was ok: each source is one thin line carrying its count.
    let quiet: usize = doc
        .select(&sel("#lanes .hb.quiet"))
        .map(|e| e.value().attr("data-n").unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(quiet as u64, r["fetch"]["requests"].as_u64().unwrap());
    assert_eq!(count(&doc, "#lanes .hb:not(.quiet)"), 0);
    // 44 bars, each first row of a cell named region, model, question in three columns.
    assert_eq!(count(&doc, "#lanes .bar"), 44);
    let names: Vec<String> = doc.select(&sel("#lanes text.col")).map(text).collect();
    assert_eq!(names.len(), 36 * 3, "three columns per cell");
    assert!(
        names
            .chunks(3)
            .all(|c| ["us-east", "eu-west", "asia-pacific"].contains(&c[0].as_str()))
    );
}

#[test]
fn flags_stay_apart_and_on_the_canvas() {
    let (_d, db, _) = record_scenario("classic", 30.0);
    for (at, t) in [
        ("last", "a"),
        ("last", "b"),
        ("last", "c"),
        ("-2", "d"),
        ("first", "e"),
        ("first", "f"),
    ] {
        bb(&db, &["note", "--at", at, t]).ok();
    }
    let doc = page(&db);
    let circles: Vec<(f64, f64)> = doc
        .select(&sel("#lanes .marker circle"))
        .map(|c| {
            let v = c.value();
            (
                v.attr("cx").unwrap().parse().unwrap(),
                v.attr("cy").unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert!(circles.len() >= 10, "{circles:?}");
    for (i, a) in circles.iter().enumerate() {
        assert!(
            a.0 - 7.0 >= 0.0 && a.0 + 7.0 <= 1240.0,
            "{a:?} off the canvas"
        );
        for b in &circles[i + 1..] {
            let d = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
            assert!(d >= 14.0, "{a:?} and {b:?} overlap");
        }
    }
    // The list under the drawing numbers them all.
    assert_eq!(count(&doc, "ol.flags li"), circles.len());
}

/// The first screen has the figures, the cause and a strip of when: rows failed, the view
/// cut, sources failing, on the lanes' axis (each span a window the lanes show in detail);
/// the notes come after the lanes.
#[test]
fn the_first_screen_says_when() {
    for name in ["classic", "outage"] {
        let (_d, db, _) = record_scenario(name, 10.0);
        let html = bb(&db, &["report", "--format", "html"]).ok().stdout;
        let doc = Html::parse_document(&html);
        let at = |what: &str| {
            html.find(what)
                .unwrap_or_else(|| panic!("{name}: no {what}"))
        };
        assert!(at("class=\"cause\"") < at("<svg class=\"strip\""));
        assert!(at("<svg class=\"strip\"") < at("<h2>Findings</h2>"));
        if html.contains("id=\"notes\"") {
            assert!(
                at("id=\"lanes\"") < at("id=\"notes\""),
                "{name}: notes before the lanes"
            );
        }
        let r = report(&db);
        let failed = r["jobs"][0]["answer"]["failures"]["failed"]
            .as_u64()
            .unwrap_or(0);
        let spans = count(&doc, "svg.strip rect.strip-failed");
        assert_eq!(
            spans > 0,
            failed > 0,
            "{name}: {spans} spans for {failed} failed rows"
        );
        // A source failing: the same windows as the lanes' outage bands.
        assert_eq!(
            count(&doc, "svg.strip rect.strip-outage"),
            count(&doc, "#lanes rect.band.outage"),
            "{name}"
        );
        // Every span says what it is.
        for rect in doc.select(&sel("svg.strip rect[class^=strip-]:not(.strip-bg)")) {
            assert!(rect.select(&sel("title")).next().is_some(), "{name}");
        }
    }
    // The seed incident: its view was cut, its runner answered throughout.
    let (_d, db, _) = record_scenario("classic", 10.0);
    let doc = page(&db);
    assert!(count(&doc, "svg.strip rect.strip-cut") > 0);
    assert_eq!(count(&doc, "svg.strip rect.strip-outage"), 0);
    let (_d, db, _) = record_scenario("outage", 10.0);
    assert!(count(&page(&db), "svg.strip rect.strip-outage") > 0);
}

/// The page's structure: its sections' titles in order, then every kind of element it draws
/// (tag and classes). A change here means the screenshots in docs/screenshots/ show another
/// page: `scripts/pages.sh` remakes them and this stamp.
fn structure(html: &str) -> String {
    let doc = Html::parse_document(html);
    let mut out: Vec<String> = doc
        .select(&sel("h2"))
        .map(|h| format!("section {}", text(h)))
        .collect();
    let kinds: std::collections::BTreeSet<String> = doc
        .select(&sel("body *"))
        .map(|e| {
            let mut c: Vec<&str> = e.value().classes().collect();
            c.sort_unstable();
            format!("{} {}", e.value().name(), c.join("."))
        })
        .collect();
    out.extend(kinds);
    out.join("\n") + "\n"
}

#[test]
fn screenshots_follow_the_page() {
    let stamp = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/screenshots/structure.txt"
    );
    let (_d, db, _) = record_scenario("classic", 30.0);
    let got = structure(&bb(&db, &["report", "--format", "html"]).ok().stdout);
    if std::env::var_os("BLACKBOX_UPDATE_SCREENSHOTS_STAMP").is_some() {
        std::fs::write(stamp, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(stamp).unwrap_or_default();
    assert!(
        got == want,
        "the page's structure changed and docs/screenshots/ did not: run scripts/pages.sh (it remakes the screenshots and {stamp})"
    );
}
