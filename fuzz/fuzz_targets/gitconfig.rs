#![no_main]
libfuzzer_sys::fuzz_target!(init: agentbox_fuzz::init("gitconfig"), |data: &[u8]| agentbox_fuzz::gitconfig(data));
