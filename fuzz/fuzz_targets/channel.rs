#![no_main]
libfuzzer_sys::fuzz_target!(init: agentbox_fuzz::init("channel"), |data: &[u8]| agentbox_fuzz::channel(data));
