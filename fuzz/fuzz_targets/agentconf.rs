#![no_main]
libfuzzer_sys::fuzz_target!(init: agentbox_fuzz::init("agentconf"), |data: &[u8]| agentbox_fuzz::agentconf_judge(data));
