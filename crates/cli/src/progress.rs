//! Progress bars on stderr (hidden when stderr is not a terminal, so logs stay clean).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;
use vkv_model::fetch::Progress;

/// An indicatif-backed [`Progress`].
pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    bytes: bool,
}

impl Bar {
    /// Bars counting bytes (downloads, hashing).
    pub fn bytes() -> Self {
        Self {
            bar: Mutex::new(None),
            bytes: true,
        }
    }

    /// Bars counting items (texts, cells, tokens).
    pub fn counts() -> Self {
        Self {
            bar: Mutex::new(None),
            bytes: false,
        }
    }
}

/// A bar for `total` items with a message, drawn on stderr.
pub fn new_bar(total: u64, msg: &str, bytes: bool) -> ProgressBar {
    let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let tpl = if bytes {
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
    } else {
        "{msg} [{bar:30}] {pos}/{len} {per_sec} eta {eta}"
    };
    if let Ok(style) = ProgressStyle::with_template(tpl) {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_message(msg.to_string());
    b
}

impl Progress for Bar {
    fn begin(&self, message: &str, total: u64) {
        if let Ok(mut g) = self.bar.lock() {
            *g = Some(new_bar(total, message, self.bytes));
        }
    }
    fn advance(&self, n: u64) {
        if let Ok(g) = self.bar.lock() {
            if let Some(b) = g.as_ref() {
                b.inc(n);
            }
        }
    }
    fn finish(&self) {
        if let Ok(mut g) = self.bar.lock() {
            if let Some(b) = g.take() {
                b.finish_and_clear();
            }
        }
    }
}
