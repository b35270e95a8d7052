#![no_main]
libfuzzer_sys::fuzz_target!(init: agentbox_fuzz::init("http_parts"), |data: &[u8]| agentbox_fuzz::http_parts(data));
