#![no_main]
libfuzzer_sys::fuzz_target!(init: agentbox_fuzz::init("redact"), |data: &[u8]| agentbox_fuzz::redact(data));
