#![no_main]
libfuzzer_sys::fuzz_target!(init: agentbox_fuzz::init("views"), |data: &[u8]| agentbox_fuzz::views(data));
