#![no_main]
libfuzzer_sys::fuzz_target!(init: agentbox_fuzz::init("profile"), |data: &[u8]| agentbox_fuzz::profile(data));
