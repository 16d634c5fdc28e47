//! What the templates show, as plain strings and numbers: the navigation bar, certificate rows,
//! and the expiry plot's geometry (drawn server-side as SVG).

use certus_authority::{CaRow, CertRow, ConsoleAction, ConsoleViewer};

/// The header every signed-in page shares.
pub(crate) struct Nav {
    pub here: &'static str,
    pub csrf: String,
    pub username: String,
    pub tenant_id: String,
    pub tenant_name: String,
    /// (id, label) of each tenant the viewer may switch to.
    pub tenants: Vec<(String, String)>,
    pub may_issue: bool,
    pub may_approve: bool,
    pub may_audit: bool,
}

impl Nav {
    pub(crate) fn new(viewer: &ConsoleViewer, here: &'static str) -> Self {
        Nav {
            here,
            csrf: viewer.csrf.clone(),
            username: viewer.user.username.clone(),
            tenant_id: viewer.tenant.id.clone(),
            tenant_name: viewer.tenant.name.clone(),
            tenants: viewer.tenants.iter().map(|t| (t.id.clone(), t.name.clone())).collect(),
            may_issue: viewer.may(ConsoleAction::Issue),
            may_approve: viewer.may(ConsoleAction::ApproveCsr),
            may_audit: viewer.may(ConsoleAction::ReadAudit),
        }
    }
}

/// A date and time as the console shows it (UTC).
pub(crate) fn when(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC")).ok())
        .unwrap_or_else(|| secs.to_string())
}

/// One certificate in a list.
pub(crate) struct CertLine {
    pub id: String,
    pub common_name: String,
    pub names: String,
    pub serial: String,
    pub issuer: String,
    pub not_after: String,
    pub status: &'static str,
}

impl CertLine {
    pub(crate) fn new(c: &CertRow, cas: &[CaRow], now: i64) -> Self {
        let issuer = match &c.issuer_ca_id {
            Some(id) => cas.iter().find(|ca| &ca.id == id).map_or_else(|| id.clone(), |ca| ca.name.clone()),
            None => "—".into(),
        };
        CertLine {
            id: c.id.clone(),
            common_name: c.common_name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "(no CN)".into()),
            names: c.sans.join(", "),
            serial: c.serial.clone(),
            issuer,
            not_after: when(c.not_after),
            status: status_of(c, now),
        }
    }
}

pub(crate) fn status_of(c: &CertRow, now: i64) -> &'static str {
    if c.revoked_at.is_some() {
        "revoked"
    } else if c.not_after <= now {
        "expired"
    } else {
        "valid"
    }
}

/// One bar of the expiry plot.
pub(crate) struct Bar {
    pub day: usize,
    pub count: i64,
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
}

/// Bars per day over the coming days, scaled to the tallest.
pub(crate) struct Plot {
    pub width: i64,
    pub height: i64,
    pub base: i64,
    pub max: i64,
    pub bars: Vec<Bar>,
    /// (x, label) every 15 days.
    pub ticks: Vec<(i64, String)>,
}

const PLOT_LEFT: i64 = 30;
const BAR_WIDTH: i64 = 8;
const PLOT_HEIGHT: i64 = 140;

impl Plot {
    pub(crate) fn new(per_day: &[i64]) -> Self {
        let base = PLOT_HEIGHT - 14;
        let max = per_day.iter().copied().max().unwrap_or(0).max(1);
        let bars = per_day
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(day, &count)| {
                let h = (count * (base - 10) / max).max(1);
                let x = PLOT_LEFT + i64::try_from(day).unwrap_or(0) * BAR_WIDTH;
                Bar { day, count, x, y: base - h, w: BAR_WIDTH - 1, h }
            })
            .collect();
        let days = i64::try_from(per_day.len()).unwrap_or(0);
        let ticks = (0..days).step_by(15).map(|d| (PLOT_LEFT + d * BAR_WIDTH, format!("+{d}d"))).collect();
        Plot { width: PLOT_LEFT + days * BAR_WIDTH + 10, height: PLOT_HEIGHT, base, max, bars, ticks }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plot_scales_to_the_busiest_day() {
        let mut days = vec![0; 90];
        days[0] = 4;
        days[10] = 2;
        let p = Plot::new(&days);
        assert_eq!(p.max, 4);
        assert_eq!(p.bars.len(), 2);
        assert_eq!(p.bars[0].h, p.base - 10, "the busiest day is full height");
        assert_eq!(p.bars[1].h, (p.base - 10) / 2);
        assert_eq!(p.bars[1].x, PLOT_LEFT + 10 * BAR_WIDTH);
        assert_eq!(p.ticks.len(), 6);
    }

    #[test]
    fn an_empty_plot_has_no_bars() {
        let p = Plot::new(&[0; 90]);
        assert!(p.bars.is_empty());
        assert_eq!(p.max, 1);
    }
}
