#![no_main]
libfuzzer_sys::fuzz_target!(init: agentbox_fuzz::init("sni"), |data: &[u8]| agentbox_fuzz::sni(data));
