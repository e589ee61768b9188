//! The control protocol's request parser on arbitrary bytes: never a panic, and what it
//! accepts survives a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upkeep::control::Request;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = Request::parse(data) {
        assert_eq!(Request::parse(request.to_line().as_bytes()), Ok(request));
    }
});
