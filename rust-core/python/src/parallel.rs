//! Rayon is unusable in a forked child (its worker threads do not survive `fork`), so batch
//! calls run sequentially in any process other than the one that first imported the module.

use std::sync::OnceLock;

static IMPORT_PID: OnceLock<u32> = OnceLock::new();

pub fn record_import_pid() {
    IMPORT_PID.get_or_init(std::process::id);
}

pub fn allowed() -> bool {
    IMPORT_PID
        .get()
        .is_some_and(|&pid| pid == std::process::id())
}
