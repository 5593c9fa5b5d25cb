//! The call-center figures, defined once (design.md "Live state", asterisk.md 5.3).
//!
//! Counters are what happened today; figures are computed from counters only, so the
//! simulated PBX's ground truth and Mayday's queue actors share one set of formulas:
//!
//! | figure | formula |
//! |---|---|
//! | offered | callers who joined the queue |
//! | answered | callers connected to a member |
//! | abandoned | callers who hung up while waiting |
//! | timed out | callers who left unanswered without hanging up (Queue() timeout, exit, leave-when-empty) |
//! | SL1 % | answered within T / answered x 100 (Asterisk's ServicelevelPerf) |
//! | SL2 % | (answered within T + abandoned within T) / (answered + abandoned) x 100 (ServicelevelPerf2) |
//! | abandon rate % | abandoned / offered x 100 |
//! | ASA s | total wait of answered callers / answered |
//! | AHT s | (talk + hold + wrap-up actually spent) / handled (answered calls that ended) |
//!
//! A figure whose denominator is zero is `None` (shown as "–"), never 0 or NaN.

use serde::{Deserialize, Serialize};

/// Today's counters of one queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueCounters {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub timed_out: u64,
    pub answered_within_sl: u64,
    pub abandoned_within_sl: u64,
    pub wait_answered_secs: u64,
    pub handled: u64,
    pub talk_secs: u64,
    pub hold_secs: u64,
    pub wrapup_secs: u64,
    pub transferred: u64,
}

/// The published figures of one queue.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueFigures {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub timed_out: u64,
    pub answered_within_sl: u64,
    /// Percent, one decimal.
    pub sl1_pct: Option<f64>,
    pub sl2_pct: Option<f64>,
    pub abandon_rate_pct: Option<f64>,
    /// Seconds, one decimal.
    pub asa_secs: Option<f64>,
    pub aht_secs: Option<f64>,
}

fn ratio(num: u64, den: u64, scale: f64) -> Option<f64> {
    if den == 0 {
        return None;
    }
    Some(((num as f64) * scale / (den as f64) * 10.0).round() / 10.0)
}

impl QueueCounters {
    /// Records a caller who joined.
    pub fn record_offered(&mut self) {
        self.offered += 1;
    }

    /// Records a caller connected to a member after `wait_secs`.
    pub fn record_answered(&mut self, wait_secs: u64, threshold_secs: u64) {
        self.answered += 1;
        self.wait_answered_secs += wait_secs;
        if wait_secs <= threshold_secs {
            self.answered_within_sl += 1;
        }
    }

    /// Records a caller who hung up after `wait_secs`.
    pub fn record_abandoned(&mut self, wait_secs: u64, threshold_secs: u64) {
        self.abandoned += 1;
        if wait_secs <= threshold_secs {
            self.abandoned_within_sl += 1;
        }
    }

    /// Records a caller who left without an answer and without hanging up.
    pub fn record_timed_out(&mut self) {
        self.timed_out += 1;
    }

    /// Records an answered call that ended after `talk_secs` (hold included in talk by
    /// Asterisk's TalkTime; `hold_secs` is reported apart).
    pub fn record_handled(&mut self, talk_secs: u64, hold_secs: u64, transferred: bool) {
        self.handled += 1;
        self.talk_secs += talk_secs;
        self.hold_secs += hold_secs;
        if transferred {
            self.transferred += 1;
        }
    }

    /// Records wrap-up time actually spent after a handled call.
    pub fn record_wrapup(&mut self, secs: u64) {
        self.wrapup_secs += secs;
    }

    /// The figures these counters give.
    pub fn figures(&self) -> QueueFigures {
        QueueFigures {
            offered: self.offered,
            answered: self.answered,
            abandoned: self.abandoned,
            timed_out: self.timed_out,
            answered_within_sl: self.answered_within_sl,
            sl1_pct: ratio(self.answered_within_sl, self.answered, 100.0),
            sl2_pct: ratio(self.answered_within_sl + self.abandoned_within_sl, self.answered + self.abandoned, 100.0),
            abandon_rate_pct: ratio(self.abandoned, self.offered, 100.0),
            asa_secs: ratio(self.wait_answered_secs, self.answered, 1.0),
            // Talk time from Asterisk already contains hold; hold_secs is informative only.
            aht_secs: ratio(self.talk_secs + self.wrapup_secs, self.handled, 1.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed example, threshold T = 20 s:
    /// 10 offered; 6 answered after 5, 10, 15, 25, 30, 40 s (3 within T);
    /// 3 abandoned after 8, 30, 50 s (1 within T); 1 timed out;
    /// 5 handled with talk 60, 120, 180, 240, 300 s and 10 s wrap-up each.
    fn example() -> QueueCounters {
        let mut c = QueueCounters::default();
        for _ in 0..10 {
            c.record_offered();
        }
        for w in [5, 10, 15, 25, 30, 40] {
            c.record_answered(w, 20);
        }
        for w in [8, 30, 50] {
            c.record_abandoned(w, 20);
        }
        c.record_timed_out();
        for t in [60, 120, 180, 240, 300] {
            c.record_handled(t, 0, false);
            c.record_wrapup(10);
        }
        c
    }

    #[test]
    fn sl1_is_answered_within_threshold_over_answered() {
        // 3 / 6 = 50.0 %
        assert_eq!(example().figures().sl1_pct, Some(50.0));
    }

    #[test]
    fn sl2_counts_abandons_within_threshold_too() {
        // (3 + 1) / (6 + 3) = 44.4 %
        assert_eq!(example().figures().sl2_pct, Some(44.4));
    }

    #[test]
    fn abandon_rate_is_abandoned_over_offered() {
        // 3 / 10 = 30.0 %
        assert_eq!(example().figures().abandon_rate_pct, Some(30.0));
    }

    #[test]
    fn asa_is_total_wait_of_answered_over_answered() {
        // (5+10+15+25+30+40) / 6 = 125 / 6 = 20.8 s
        assert_eq!(example().figures().asa_secs, Some(20.8));
    }

    #[test]
    fn aht_is_talk_plus_wrapup_over_handled() {
        // (900 talk + 50 wrap-up) / 5 = 190.0 s
        assert_eq!(example().figures().aht_secs, Some(190.0));
    }

    #[test]
    fn timeouts_are_not_abandons() {
        let f = example().figures();
        assert_eq!((f.abandoned, f.timed_out), (3, 1));
    }

    #[test]
    fn empty_denominators_give_no_figure() {
        let f = QueueCounters::default().figures();
        assert_eq!((f.sl1_pct, f.sl2_pct, f.abandon_rate_pct, f.asa_secs, f.aht_secs), (None, None, None, None, None));
    }

    #[test]
    fn threshold_is_inclusive() {
        let mut c = QueueCounters::default();
        c.record_answered(20, 20);
        c.record_answered(21, 20);
        assert_eq!(c.answered_within_sl, 1);
    }
}
