#![no_main]
libfuzzer_sys::fuzz_target!(init: agentbox_fuzz::init("detect"), |data: &[u8]| agentbox_fuzz::detect(data));
