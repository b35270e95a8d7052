#![no_main]
libfuzzer_sys::fuzz_target!(init: agentbox_fuzz::init("http_response"), |data: &[u8]| agentbox_fuzz::http_response(data));
