#![no_main]
libfuzzer_sys::fuzz_target!(init: agentbox_fuzz::init("dns"), |data: &[u8]| agentbox_fuzz::dns(data));
