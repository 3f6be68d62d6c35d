//! The campaign dashboard (`status --format html`): one self-contained page with inline CSS
//! and SVG (no script, no external request), readable offline and as a CI artifact: totals by
//! state, a burndown from the ledger's history, blockers by failure class, and one row per
//! repository. Pure: the caller supplies every value, already masked.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::diagnose::FailureClass;
use super::ledger::ProgressPoint;
use super::time;

/// One repository's row.
#[derive(Debug, Clone)]
pub struct DashboardRow {
    pub repo: String,
    pub state: String,
    pub pr: Option<(u64, String)>,
    pub roles: Vec<String>,
    /// Masked key ids with their last use (`AKIA…WXYZ never`).
    pub keys: Vec<String>,
    pub next: String,
}

/// Everything on the page.
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    pub title: String,
    pub generated_at: time::Seconds,
    pub totals: BTreeMap<&'static str, usize>,
    pub history: Vec<ProgressPoint>,
    pub blockers: BTreeMap<FailureClass, Vec<String>>,
    pub rows: Vec<DashboardRow>,
}

/// HTML-escapes text for element content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A state's colour: greens for done, amber for waiting on people, red for trouble.
fn color(state: &str) -> &'static str {
    match state {
        "verified" | "keys_deactivated" | "secrets_deleted" | "keys_deleted" | "clean" => "#1a7f37",
        "pr_merged" | "pr_open" | "role_ready" => "#9a6700",
        "failing" | "failed" => "#cf222e",
        _ => "#57606a",
    }
}

const STYLE: &str = "
body{font:14px/1.45 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1f2328;margin:0;background:#f6f8fa}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 10px}
.sub{color:#57606a;margin:0 0 18px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:10px 16px;min-width:110px}
.card b{display:block;font-size:26px}
.card span{color:#57606a;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.panel{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:14px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d0d7de;border-radius:8px}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#57606a}
.badge{display:inline-block;color:#fff;border-radius:10px;padding:1px 8px;font-size:12px;white-space:nowrap}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.blocker{margin:0 0 8px}.blocker b{font-family:ui-monospace,monospace}
.muted{color:#57606a}
";

impl Dashboard {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{}</title><style>{STYLE}</style></head><body><main>\n",
            esc(&self.title)
        );
        let total: usize = self.totals.values().sum();
        let _ = writeln!(
            out,
            "<h1>{}</h1><p class=\"sub\">{total} repositories · generated {} by <code>migrate status --format html</code></p>",
            esc(&self.title),
            time::format(self.generated_at)
        );
        out.push_str("<section class=\"cards\" id=\"totals\">");
        for (state, n) in &self.totals {
            let _ = write!(
                out,
                "<div class=\"card\" style=\"border-top:4px solid {}\"><b>{n}</b><span>{}</span></div>",
                color(state),
                esc(state)
            );
        }
        out.push_str("</section>\n<h2>Progress</h2><div class=\"panel\">");
        out.push_str(&self.burndown());
        out.push_str("</div>\n<h2>Blockers</h2><div class=\"panel\" id=\"blockers\">");
        if self.blockers.is_empty() {
            out.push_str("<p class=\"muted\">No migrated workflow is failing.</p>");
        }
        for (class, repos) in &self.blockers {
            let _ = write!(
                out,
                "<p class=\"blocker\"><b>{}</b> ({}): {}</p>",
                class.as_str(),
                repos.len(),
                esc(&repos.join(", "))
            );
        }
        out.push_str("</div>\n<h2>Repositories</h2>\n<table id=\"repositories\"><thead><tr><th>Repository</th><th>State</th><th>PR</th><th>Roles</th><th>Keys (last use)</th><th>Next step</th></tr></thead><tbody>\n");
        for r in &self.rows {
            let pr = match &r.pr {
                Some((n, url)) => format!("<a href=\"{}\">#{n}</a>", esc(url)),
                None => "-".into(),
            };
            let roles: Vec<String> = r
                .roles
                .iter()
                .map(|a| format!("<code>{}</code>", esc(a.rsplit('/').next().unwrap_or(a))))
                .collect();
            let keys: Vec<String> = r
                .keys
                .iter()
                .map(|k| format!("<code>{}</code>", esc(k)))
                .collect();
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td><span class=\"badge\" style=\"background:{}\">{}</span></td><td>{pr}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.repo),
                color(&r.state),
                esc(&r.state),
                if roles.is_empty() {
                    "-".into()
                } else {
                    roles.join("<br>")
                },
                if keys.is_empty() {
                    "-".into()
                } else {
                    keys.join("<br>")
                },
                esc(&r.next)
            );
        }
        out.push_str("</tbody></table>\n</main></body></html>\n");
        out
    }

    /// Two lines over time: repositories still holding static keys, and active old keys.
    fn burndown(&self) -> String {
        const W: f64 = 1100.0;
        const H: f64 = 220.0;
        const PAD: f64 = 36.0;
        let points = &self.history;
        if points.is_empty() {
            return "<p class=\"muted\">No history yet: every <code>migrate status</code> adds a point.</p>".into();
        }
        let max = points
            .iter()
            .map(|p| p.repos_with_keys.max(p.active_keys))
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        let (first, last) = (points[0].at, points[points.len() - 1].at);
        let span = (last - first).max(1) as f64;
        let x = |at: time::Seconds| {
            if points.len() == 1 {
                PAD + (W - 2.0 * PAD) / 2.0
            } else {
                PAD + (at - first) as f64 / span * (W - 2.0 * PAD)
            }
        };
        let y = |v: usize| H - PAD - v as f64 / max * (H - 2.0 * PAD);
        let line = |value: fn(&ProgressPoint) -> usize, stroke: &str| {
            let coords: Vec<String> = points
                .iter()
                .map(|p| format!("{:.1},{:.1}", x(p.at), y(value(p))))
                .collect();
            let dots: String = points
                .iter()
                .map(|p| {
                    format!(
                        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{stroke}\"/>",
                        x(p.at),
                        y(value(p))
                    )
                })
                .collect();
            format!(
                "<polyline fill=\"none\" stroke=\"{stroke}\" stroke-width=\"2.5\" points=\"{}\"/>{dots}",
                coords.join(" ")
            )
        };
        let now = points[points.len() - 1];
        format!(
            "<svg viewBox=\"0 0 {W} {H}\" width=\"100%\" role=\"img\" aria-label=\"burndown\" xmlns=\"http://www.w3.org/2000/svg\">\
             <line x1=\"{PAD}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#d0d7de\"/>\
             <line x1=\"{PAD}\" y1=\"{PAD}\" x2=\"{PAD}\" y2=\"{b}\" stroke=\"#d0d7de\"/>\
             <text x=\"4\" y=\"{t}\" font-size=\"11\" fill=\"#57606a\">{max}</text>\
             <text x=\"4\" y=\"{b}\" font-size=\"11\" fill=\"#57606a\">0</text>\
             <text x=\"{PAD}\" y=\"{lb}\" font-size=\"11\" fill=\"#57606a\">{from}</text>\
             <text x=\"{r}\" y=\"{lb}\" font-size=\"11\" fill=\"#57606a\" text-anchor=\"end\">{to}</text>\
             {repos}{keys}</svg>\
             <p><span style=\"color:#cf222e\">■</span> repositories still holding static keys: <b>{rk}</b> \
             &nbsp; <span style=\"color:#0969da\">■</span> active old keys: <b>{ak}</b></p>",
            b = H - PAD,
            r = W - PAD,
            t = PAD + 4.0,
            lb = H - 12.0,
            max = max as usize,
            from = time::format(first),
            to = time::format(last),
            repos = line(|p| p.repos_with_keys, "#cf222e"),
            keys = line(|p| p.active_keys, "#0969da"),
            rk = now.repos_with_keys,
            ak = now.active_keys,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_draws_every_point() {
        let d = Dashboard {
            title: "acme <campaign>".into(),
            generated_at: 1_700_000_000,
            totals: BTreeMap::from([("failing", 1), ("verified", 2)]),
            history: vec![
                ProgressPoint {
                    at: 1_700_000_000,
                    repos: 3,
                    repos_with_keys: 3,
                    active_keys: 2,
                },
                ProgressPoint {
                    at: 1_700_086_400,
                    repos: 3,
                    repos_with_keys: 1,
                    active_keys: 1,
                },
            ],
            blockers: BTreeMap::from([(FailureClass::Audience, vec!["acme/api".into()])]),
            rows: vec![DashboardRow {
                repo: "acme/api".into(),
                state: "failing".into(),
                pr: Some((1, "https://github.com/acme/api/pull/1".into())),
                roles: vec!["arn:aws:iam::123456789012:role/gha-api".into()],
                keys: vec!["AKIA…WXYZ never".into()],
                next: "audience: fix <it>".into(),
            }],
        };
        let html = d.render();
        assert!(html.contains("acme &lt;campaign&gt;"));
        assert!(html.contains("fix &lt;it&gt;"));
        assert_eq!(html.matches("<circle").count(), 4);
        assert!(
            !html.contains("http://") || html.matches("http://").count() == 1,
            "only the SVG namespace"
        );
        assert!(!html.contains("<script"));
    }
}
