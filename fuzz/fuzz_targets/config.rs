//! The config parser and validator on arbitrary text: never a panic, and every error
//! carries a position inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upkeep::config::{self, accounts::Accounts};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let accounts = Accounts::parse(
        "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/sh\n",
        "root:x:0:\nwww:x:33:\n",
    );
    if let Err(errors) = config::parse(std::path::Path::new("f.toml"), text, &accounts) {
        assert!(!errors.is_empty());
        let lines = text.lines().count().max(1);
        for e in errors {
            assert!(e.line >= 1 && e.line <= lines + 1, "{e}");
        }
    }
});
