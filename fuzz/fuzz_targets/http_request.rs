#![no_main]
libfuzzer_sys::fuzz_target!(init: agentbox_fuzz::init("http_request"), |data: &[u8]| agentbox_fuzz::http_request(data));
